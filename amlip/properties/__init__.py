"""Properties of produced structures (rules/validate.smk): structure (density, RDF, angles, Qn,
PMF), scattering, rings, porosity, vibrations, mechanics, energetics, and the reference data
they are compared with. Each module also builds the tables the validate rules write."""
