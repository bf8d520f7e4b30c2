"""Molecular dynamics (rules/produce.smk, rules/pore.smk): protocols and presets (protocols), the
integrators (integrators), guards (guards), the ASE, LAMMPS and batched (TorchSim) engines behind one
factory (engines, ase_engine, lammps_engine, batched), cluster decks (lammps_deck), outputs, D3 dispersion,
GCMC and the pore runs."""
