#!/usr/bin/env bash
# Snakemake runs this after creating envs/deepmd.yaml: deepmd-kit 3.2.0 built from its sdist against the
# env's torch 2.13 (PyTorch backend only, no TensorFlow; no MPI: the Python backend does not use it).
set -euo pipefail
DP_ENABLE_TENSORFLOW=0 DP_ENABLE_PYTORCH=1 CMAKE_ARGS="-DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON" \
  python -m pip install --no-build-isolation --no-deps --no-binary deepmd-kit deepmd-kit==3.2.0
