"""Frame selection (rules/select.smk): the active-learning pick (candidates, soap), the
flat-histogram split (split) and the provenance every selected frame carries (provenance)."""
