"""The ``dnalens`` command line: thin commands over the Python API."""
