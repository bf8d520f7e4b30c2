"""amlip: machine-learned interatomic potentials for amorphous and porous materials.

The science behind the Snakemake pipeline, in small modules:
io, structures, labelers, explore, select, train, learn, md, analysis, report.
Heavy backends (tblite, MACE, DScribe) are imported lazily inside the functions
that need them, so importing a module never requires an optional package.
"""

__version__ = "0.1.0"
