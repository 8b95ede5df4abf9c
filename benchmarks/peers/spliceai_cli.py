"""Run the unmodified ``spliceai`` 1.3.1 command line with Keras 2 (``tf_keras``).

spliceai does ``from keras.models import load_model``; with TensorFlow >= 2.16 ``keras`` is
Keras 3, which cannot load its HDF5 models. This wrapper sets ``TF_USE_LEGACY_KERAS=1`` and
points ``keras`` (and its submodules) at ``tf_keras`` before spliceai is imported, then calls
``spliceai.__main__.main()`` with the given arguments. No spliceai code is changed.

Usage (inside ``benchmarks/.venv-spliceai``, see ``benchmarks/setup_peers.sh``)::

    python benchmarks/peers/spliceai_cli.py -I in.vcf -O out.vcf -R genome.fa \
        -A annotation.txt -D 50
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tf_keras

sys.modules["keras"] = tf_keras
for _name in ("models", "layers", "backend", "utils", "optimizers"):
    if hasattr(tf_keras, _name):
        sys.modules[f"keras.{_name}"] = getattr(tf_keras, _name)


def main() -> None:
    from spliceai.__main__ import main as spliceai_main

    sys.argv = ["spliceai", *sys.argv[1:]]
    spliceai_main()


if __name__ == "__main__":
    main()
