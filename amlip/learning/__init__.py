"""Active learning (rules/explore.smk, rules/learn.smk): exploration (explore), the loop's
settings and decisions (loop) and the model choice (choice)."""
