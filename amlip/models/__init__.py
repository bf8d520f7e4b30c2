"""Machine-learned potentials (rules/train.smk): MACE (mace), NequIP/Allegro (nequip), the loader
by file suffix (loading), where models run (device), the interpreter hand-over (handover), committees (committee) and
error metrics (metrics)."""
