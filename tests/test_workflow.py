"""The Snakemake layer: dry runs of every shipped config, lint, schema errors, rule hygiene."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

CONFIGS = sorted(p.relative_to(ROOT) for p in (ROOT / "config").rglob("*.yaml") if p.name != "schema.yaml")
STAGES = ["structures", "explore", "label", "select", "train", "learn", "produce", "validate", "fidelity", "report"]
# Stage files whose rules only an opt-in config block requests (each has its own dry-run test).
OPT_IN_STAGES = ["aimd", "pore", "mof", "systems", "papers"]
# Whole configs (first line "# Whole config"): they replace config/config.yaml (--replace-workflow-config).
WHOLE = {c for c in CONFIGS if (ROOT / c).read_text().startswith("# Whole config")}


@pytest.fixture
def snakemake(snakemake_copy):
    """Snakemake in the session's copy of the workflow (conftest.snakemake_copy)."""
    return snakemake_copy


def rules_by_file():
    found = {}
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        text = smk.read_text()
        blocks = re.split(r"^(?=rule |checkpoint )", text, flags=re.M)[1:]
        found[smk.stem] = {re.match(r"(?:rule|checkpoint) (\w+):", b).group(1): b for b in blocks}
    return found


@pytest.mark.parametrize("configfile", CONFIGS, ids=str)
def test_dry_run_of_every_shipped_config(snakemake, configfile):
    cif = (yaml.safe_load((ROOT / configfile).read_text()).get("mil120") or {}).get("cif")
    if cif and not (ROOT / cif).exists():
        pytest.skip(f"{configfile} needs the MIL-120 CIF {cif}, which is not shipped (test_mil120 dry-runs it with a stand-in)")
    replace = ["--replace-workflow-config"] if configfile in WHOLE else []
    result = snakemake("-n", "--quiet", "rules", "--configfile", str(configfile), *replace)
    assert result.returncode == 0, result.stderr[-3000:]


def test_dry_run_lists_rules_from_every_stage_file(snakemake):
    result = snakemake("-n")
    assert result.returncode == 0, result.stderr[-3000:]
    rules = rules_by_file()
    assert sorted(rules) == sorted(STAGES + OPT_IN_STAGES + ["common"])
    for stage in STAGES:
        assert any(f"rule {name}:" in result.stdout for name in rules[stage]), f"no rule of rules/{stage}.smk in the DAG"


def test_active_learning_iteration_depends_on_previous_committee(snakemake):
    result = snakemake("-n", "--forceall", "results/explore/syn/iter_2/pool.extxyz")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "results/train/syn/iter_1/member_0/mace.model" in result.stdout
    assert "results/train/syn/iter_0/member_1/mace.model" in result.stdout


def test_iteration_reads_the_previous_decision_before_exploring_and_training(snakemake):
    # the production-protocol exploration of iteration 2 (one job per random packing) needs iteration
    # 1's decision.json (pool and runs only, no evaluations: no cycle with the final test set) and the
    # committee of iteration 1; training iteration 2 needs member m of iteration 1 (warm start)
    result = snakemake("-n", "--forceall", "results/train/syn/iter_2/member_1/mace.model")
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = re.split(r"\n(?=rule |localrule )", result.stdout)
    explore = [j for j in jobs if j.startswith("rule explore_production") and "iter_2/production/" in j]
    assert len(explore) == 2  # random_0, random_1
    assert all("results/learn/syn/iter_1/decision.json" in j and "iter_1/member_1/mace.model" in j for j in explore)
    merge = next(j for j in jobs if j.startswith("rule merge_pool") and "iter_2/pool.extxyz" in j)
    assert "iter_2/production/random_0.csv" in merge and "iter_2/production/random_1.extxyz" in merge
    train = next(j for j in jobs if j.startswith("rule train_model") and "output: results/train/syn/iter_2/member_1" in j)
    assert "results/learn/syn/iter_1/decision.json" in train and "results/train/syn/iter_1/member_1/mace.model" in train
    decide = next(
        j for j in jobs if j.startswith("rule decide_iteration") and "output: results/learn/syn/iter_1/decision.json" in j
    )
    assert "evaluation.csv" not in decide and "results/learn/syn/iter_0/decision.json" in decide
    assert "results/explore/syn/iter_1/runs.csv" in decide


def test_slurm_profile_dry_run(snakemake):
    result = snakemake("--profile", "profiles/slurm", "-n")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "train_model" in result.stdout


def test_lint_is_clean(snakemake):
    result = snakemake("--lint")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.parametrize(
    "override, expected",
    [
        ("label: {chunk_sze: 3}", "chunk_sze"),
        ("label: {backend: dft9000}", "dft9000"),
        ("train: {n_models: two}", "n_models"),
        ("learnn: {n_iterations: 1}", "learnn"),
        ("train: {architecture: allegro}", "train.nequip.preset is zif_nequip"),
        ("learn: {n_iterations: 1.0}", "learn.n_iterations: 1.0 is a real number where an integer is needed"),
        ("produce: {melt_quench: {time_scale: .nan}}", "produce.melt_quench.time_scale: nan is not a finite number"),
        ("train: {mace: {'x$(touch pwned)': true}}", "'x$(touch pwned)' does not match"),
        ("elements: [Si]", "structures.random.units.SiO2 has O, which elements ['Si'] lacks"),
        ("elements: [Si, O, Xx]", "elements names 'Xx', which is not a chemical symbol"),
    ],
)
def test_invalid_config_fails_naming_the_key(snakemake, tmp_path, override, expected):
    bad = tmp_path / "bad.yaml"
    bad.write_text(override + "\n")
    result = snakemake("-n", "--configfile", str(bad))
    assert result.returncode != 0
    assert expected in result.stdout + result.stderr


def test_every_rule_has_log_conda_and_resources():
    for stage, rules in rules_by_file().items():
        for name, block in rules.items():
            if name == "all" or "output:" not in block:  # target rules (all, paper_ns) run nothing
                continue
            for directive in ("log:", "conda:", "threads:", "resources:"):
                assert directive in block, f"rule {name} in rules/{stage}.smk has no {directive}"
            assert re.match(r"[a-z]+(_[a-z]+)+$", name), f"rule {name} is not verb_object"


@pytest.mark.parametrize("env", sorted((ROOT / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_env_files_parse_and_pin(env):
    spec = yaml.safe_load(env.read_text())
    assert spec["channels"] == ["conda-forge", "nodefaults"]
    for dep in spec["dependencies"]:
        if isinstance(dep, dict):
            for pkg in dep["pip"]:
                assert re.match(r"^[A-Za-z0-9_.\-\[\]]+==[\w.+]+$", pkg), f"{env.name}: pip {pkg} is not pinned"
        else:
            assert re.match(r"^[\w.\-]+=[\w.]+$", dep), f"{env.name}: {dep} is not pinned"
    rules_text = "".join(smk.read_text() for smk in (ROOT / "rules").glob("*.smk"))
    referenced = set(re.findall(r'"\.\./envs/([\w.]+)"', rules_text))
    if "../envs/{BACKEND}.yaml" in rules_text:  # one env per labeling backend
        schema = yaml.safe_load((ROOT / "config/schema.yaml").read_text())
        referenced |= {f"{b}.yaml" for b in schema["properties"]["label"]["properties"]["backend"]["enum"]}
    assert env.name in referenced, f"{env.name} is not used by any rule"


def test_requirements_pin_torch_and_everything():
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert "torch==2.13.0" in lines
    assert all("==" in line for line in lines), [line for line in lines if "==" not in line]


def test_nequip_committee_drives_the_loop_in_a_dry_run(snakemake):
    # train.architecture: nequip (compile: false): every consumer of the committee asks for NequIP checkpoints.
    result = snakemake("-n", "--forceall", "results/learn/syn/final/choice.json", "--configfile", "config/tests/tiny_nequip.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "rule train_nequip:" in result.stdout and "rule train_model:" not in result.stdout
    explore = re.search(r"rule explore_md:\n\s+input: ([^\n]+)\n\s+output: results/explore/syn/iter_1/md.extxyz", result.stdout)
    assert explore and "results/train/syn/iter_0/member_1/model.ckpt" in explore.group(1)
    assert "mace.model" not in result.stdout


COMMITTEE_ARCHITECTURES = {
    # architecture: (its tiny preset, the member's file); its rules are write_<architecture>_input + train_<architecture>
    "deepmd": ("tiny_deepmd", "model.deepmd.pth"),
    "mtp": ("tiny_mtp", "model.mtp"),
    "grace": ("tiny_grace", "model.grace.tar"),
}


@pytest.mark.parametrize("architecture", sorted(COMMITTEE_ARCHITECTURES))
def test_committee_of_each_architecture_drives_the_loop_in_a_dry_run(snakemake, tmp_path, architecture):
    # train.architecture on the tiny config: every member is write_<a>_input + train_<a>, no other architecture's
    # training rule runs, and every consumer of the committee asks for that architecture's model files.
    preset, member_file = COMMITTEE_ARCHITECTURES[architecture]
    override = tmp_path / f"{architecture}.yaml"
    override.write_text(f"train: {{architecture: {architecture}, {architecture}: {{preset: {preset}}}}}\n")
    result = snakemake(
        "-n", "--forceall", "results/learn/syn/final/choice.json", "--configfile", "config/tests/tiny.yaml", str(override)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for other in ["model", "nequip", *COMMITTEE_ARCHITECTURES]:
        if other != architecture:
            assert f"rule train_{other}:" not in result.stdout, other
    # 2 members x 3 iterations (0, 1, 2)
    assert result.stdout.count(f"rule train_{architecture}:") == 6
    assert result.stdout.count(f"rule write_{architecture}_input:") == 6
    assert f"output: results/train/syn/iter_2/member_1/{member_file}" in result.stdout
    explore = re.search(r"rule explore_production:\n\s+input: ([^\n]+)\n\s+output: results/explore/syn/iter_1/", result.stdout)
    assert explore and f"results/train/syn/iter_0/member_1/{member_file}" in explore.group(1)
    assert "mace.model" not in result.stdout


def test_eq_domain_starts_from_the_final_syn_model(snakemake):
    result = snakemake("-n", "--forceall", "results/explore/eq/iter_1/pool.extxyz", "--configfile", "config/examples/syn_eq.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    sample = re.search(
        r"rule sample_equilibrium:\n\s+input: ([^\n]+)\n\s+output: results/explore/eq/iter_0/pool.extxyz", result.stdout
    )
    assert sample and "results/learn/syn/final/choice.json" in sample.group(1)
    assert "results/train/syn/iter_2/member_0/mace.model" in sample.group(1)
    assert "output: results/explore/syn/iter_0/pool.extxyz" in result.stdout
    assert "output: results/explore/eq/iter_0/pool.extxyz" in result.stdout
    # eq iteration 0 labels 4 structures x 1 temperature x 40/10 samples = 16 frames in chunks of 8
    assert "results/label/eq/iter_0/chunk_1.extxyz" in result.stdout
    assert "results/label/eq/iter_0/chunk_2.extxyz" not in result.stdout


def test_choose_by_density_screens_every_final_member(snakemake, tmp_path):
    override = tmp_path / "choose.yaml"
    override.write_text("learn: {choose_by: {property: density, reference_g_cm3: 2.2}}\n")
    result = snakemake("-n", "--forceall", "results/learn/syn/final/choice.json", "--configfile", str(override))
    assert result.returncode == 0, result.stderr[-3000:]
    for m in (0, 1):
        assert f"results/learn/syn/final/screen_member_{m}.csv" in result.stdout


def test_md_elastic_moduli_only_when_listed_in_the_analyses(snakemake, tmp_path):
    """validate_elastic_md (many MD runs) stays out of the default run; listed in validate.analyses, the default target
    asks for it, after the glass and the chosen model, with the reference moduli."""
    default = snakemake("-n", "--forceall")
    assert default.returncode == 0, default.stderr[-3000:]
    assert "rule validate_elastic_md:" not in default.stdout
    assert "rule validate_elastic_fluctuation:" in default.stdout
    override = tmp_path / "elastic_md.yaml"
    override.write_text("validate: {analyses: [density, elastic_md]}\n")
    result = snakemake("-n", "--forceall", "--configfile", str(override))
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = re.split(r"\n(?=rule |localrule )", result.stdout)
    job = [j for j in jobs if j.startswith("rule validate_elastic_md:")]
    assert len(job) == 1 and "rule validate_elastic_fluctuation:" not in result.stdout
    for path in (
        "results/produce/melt_quench/trajectory.extxyz",
        "results/learn/syn/final/choice.json",
        "resources/reference/glass_moduli.csv",
        "results/validate/melt_quench/elastic_md.csv",
        "results/validate/melt_quench/elastic_md_runs.csv",
        "results/validate/melt_quench/elastic_md.png",
    ):
        assert path in job[0], path


def test_choose_by_per_domain_dehydrogenation_for_eq_density_for_syn(snakemake, tmp_path):
    """AS: the syn model by density, the eq model by dehydrogenation energies against the reference labeler."""
    override = tmp_path / "choose.yaml"
    override.write_text(
        "learn: {domains: [syn, eq], choose_by: {property: density, reference_g_cm3: 2.2},\n"
        "        domain_settings: {eq: {choose_by: {property: dehydrogenation, max_sites: 4}}}}\n"
    )
    result = snakemake(
        "-n",
        "--forceall",
        "results/learn/eq/final/choice.json",
        "results/learn/syn/final/choice.json",
        "--configfile",
        "config/examples/pore_silica.yaml",
        str(override),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    label = re.search(r"rule label_dehydrogenation:\n\s+input: ([^\n]+)\n\s+output: ([^\n]+)", result.stdout)
    assert label and label.group(2) == "results/learn/eq/final/dehydrogenation_reference.csv"
    assert "results/structures/hydroxylated_pore.extxyz" in label.group(
        1
    ) and "results/label/eq/isolated_atoms.json" in label.group(1)
    assert result.stdout.count("rule label_dehydrogenation:") == 1  # syn screens density, needs no reference
    screens = re.findall(r"rule screen_member:\n\s+input: ([^\n]+)\n\s+output: ([^\n]+)", result.stdout)
    by_output = {out: inputs for inputs, out in screens}
    assert "dehydrogenation_reference.csv" in by_output["results/learn/eq/final/screen_member_0.csv"]
    assert "dehydrogenation_reference.csv" not in by_output["results/learn/syn/final/screen_member_0.csv"]
    assert "results/structures/random_0.extxyz" in by_output["results/learn/syn/final/screen_member_0.csv"]
    # without a pore block there is no hydroxylated structure to screen on: the run stops before any job
    bare = snakemake("-n", "--configfile", str(override))
    assert bare.returncode != 0
    assert "learn.domain_settings.eq.choose_by screens on structure 'hydroxylated_pore'" in bare.stdout + bare.stderr


def test_pore_rules_only_with_a_pore_block(snakemake):
    pore_rules = set(rules_by_file()["pore"]) | {"build_hydroxylated_pore"}
    default = snakemake("-n")
    assert default.returncode == 0, default.stderr[-3000:]
    assert not any(f"rule {name}:" in default.stdout for name in pore_rules)
    result = snakemake("-n", "--configfile", "config/examples/pore_silica.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    for name in pore_rules:
        assert f"rule {name}:" in result.stdout, f"{name} is not in the pore DAG"
    # Water is removed twice: after the relaxation and after the anneal.
    assert "results/pore/relaxed_dry.extxyz" in result.stdout and "results/pore/annealed_dry.extxyz" in result.stdout
    assert "results/structures/hydroxylated_pore.extxyz" in result.stdout


def test_zif_rules_only_with_a_zif_block(snakemake):
    mof_rules = set(rules_by_file()["mof"])
    zif_rules = {"check_linkers", "validate_zif", "validate_zif_xray", "compare_zif"}
    assert zif_rules < mof_rules
    default = snakemake("-n")
    assert default.returncode == 0, default.stderr[-3000:]
    assert not any(f"rule {name}:" in default.stdout for name in mof_rules)
    result = snakemake("-n", "--configfile", "config/papers/ZIF.yaml", "--replace-workflow-config")
    assert result.returncode == 0, result.stderr[-3000:]
    for name in zif_rules:
        assert f"rule {name}:" in result.stdout, f"{name} is not in the ZIF DAG"
    # the glass melts from the crystal; the silica-only tables are not asked for
    assert "results/validate/zif/glass/linkers.csv" in result.stdout and "results/validate/zif/crystal/xray.json" in result.stdout
    melt = next(j for j in re.split(r"\n(?=rule |localrule )", result.stdout) if j.startswith("rule melt_quench:"))
    assert "results/structures/crystal_zif4.extxyz" in melt
    assert "results/validate/melt_quench/qn.csv" not in result.stdout
    assert "random_0" not in result.stdout


def report_calls(text: str) -> list[str]:
    """The text of every report(...) call of a rule file (balanced parentheses)."""
    calls = []
    for start in (m.start() for m in re.finditer(r"\breport\(", text)):
        depth, k = 0, start + len("report")
        while True:
            depth += {"(": 1, ")": -1}.get(text[k], 0)
            k += 1
            if depth == 0:
                break
        calls.append(text[start:k])
    return calls


def test_every_figure_is_in_the_report_with_a_category_and_a_caption():
    figures, reported = [], []
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        text = smk.read_text()
        for name, block in rules_by_file()[smk.stem].items():
            output = re.search(r"\n    output:\n((?:        .*\n|            .*\n)+)", block)
            if output:
                figures += [(name, path) for path in re.findall(r'"([^"]+\.png)"', output.group(1))]
        for call in report_calls(text):
            caption = re.search(r'caption="\.\./(report/[\w.]+\.rst)"', call)
            assert caption and (ROOT / caption.group(1)).read_text().strip(), f"{smk.name}: {call[:80]} has no caption file"
            assert re.search(r'category="[^"]+"', call) and "subcategory=" in call, (
                f"{smk.name}: {call[:80]} lacks a (sub)category"
            )
            reported += re.findall(r'"([^"]+\.png)"', call)
    assert len(figures) >= 20
    assert [(rule, path) for rule, path in figures if path not in reported] == []
