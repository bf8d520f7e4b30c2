#!/usr/bin/env bash
# Snakemake runs this after creating envs/grace.yaml: tf_keras and tensorpotential without their dependencies
# (their metadata would pull the CUDA `tensorflow` wheel and NVIDIA libraries; tensorflow-cpu is in the env).
set -euo pipefail
python -m pip install --no-deps tf_keras==2.20.1 tensorpotential==0.6.2.1
