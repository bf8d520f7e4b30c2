"""Training jobs of an iteration after the loop converged: copy the previous member, or say 'train'.

    python scripts/reuse_converged_model.py DECISION PREVIOUS_MODEL OUTPUT

DECISION is iteration i-1's decision.json (rule decide_iteration). When its ``stop_loop`` is
true, PREVIOUS_MODEL (member m of iteration i-1) is copied to OUTPUT and 'reused' printed;
otherwise 'train' is printed and the job goes on to train. Standard library only: the rules of
train.smk run it with the python of their own environment (mace, nequip).
"""

import json
import shutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    decision_path, previous, output = (Path(a) for a in argv)
    try:
        decision = json.loads(decision_path.read_text())
        stop = decision["stop_loop"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"reuse_converged_model: cannot read stop_loop from {decision_path}: {error!r}", file=sys.stderr)
        return 1
    if stop is not True and stop is not False:
        print(f"reuse_converged_model: stop_loop in {decision_path} is {stop!r}, not true or false", file=sys.stderr)
        return 1
    if not stop:
        print("train")
        return 0
    if not previous.is_file():
        print(f"reuse_converged_model: {decision_path} stops the loop but {previous} does not exist", file=sys.stderr)
        return 1
    output.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(previous, output)
    print(
        f"{decision_path}: {decision['decision'] if 'decision' in decision else 'stopped'}; copied {previous} to {output}",
        file=sys.stderr,
    )
    print("reused")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
