"""Starting structures (rules/structures.smk, rules/pore.smk): crystals, random packings, pore
cells with their wall, and the functionalization of pore surfaces."""
