"""Frames in and out: extended XYZ (frames), the level of theory of labels (lot), the fast
extended-XYZ reader (extxyz, extxyz_kernels; ASE's reader frame by frame and the errors that name
file, frame and line in extxyz_ase), the two-pass extxyz index (extxyz_index), and importers of
AIMD trajectories and DFT outputs (importers)."""
