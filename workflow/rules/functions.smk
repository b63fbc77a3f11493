# The functions of the stage rules (their inputs and params), by stage: Snakemake's
# convention keeps functions out of the files that declare the rules (`snakemake --lint`).

# -- data.smk

def ingest_input(w):
    """Synthetic data comes from its synth rule; real data is every file the globs match
    now, so adding, removing or changing a file reruns the ingest."""
    ds = P.datasets[w.ds]
    if w.ds in SYNTH:
        return [f"data/synth/{w.ds}"]
    root = Path(ds.root)
    return sorted(str(p) for g in (ds.image_glob, ds.mask_glob) for p in root.glob(g) if p.is_file())


def ingest_root(w):
    return f"data/synth/{w.ds}" if w.ds in SYNTH else str(P.datasets[w.ds].root)


# -- train.smk

def cell_inputs(w):
    c = cell_of(w)
    return {
        "patches": paths.processed(c.dataset, c.noise),
        "split": paths.split(c.dataset, c.train_fraction, c.split_seed),
        "prepared": paths.prepared(c.dataset),
    }


# -- probe.smk

def probe_cfg(w=None):
    """The probe settings a job computes with; not the lists that say which jobs exist
    (cells, pixels.cell, dynamics.studies), so adding a cell runs only its own jobs."""
    data = P.probe.model_dump(mode="json", exclude={"cells"})
    data["pixels"].pop("cell", None)
    data["dynamics"].pop("studies", None)
    return cfg_arg(data)


def spacing_arg(ds):
    """A dataset's target_spacing as prepare's --target-spacing: median, none or D,H,W."""
    target = getattr(ds, "target_spacing", None)
    return "none" if target is None else target if isinstance(target, str) else ",".join(f"{t:g}" for t in target)


def ct_protocol(ds):
    """prepare's --protocol: the splits' test draw for normalization ct, else none."""
    if getattr(ds, "normalization", None) != "ct":
        return "none"
    return cfg_arg({k: v for k, v in P.splits.protocol().items() if k != "val_fraction"})


def prepare_cfg(ds):
    """preprocess.prepare as dataset ``ds`` uses it: the 2D or 3D fields, and the 3D
    window only under normalization: window (a window change reruns no z-scored dataset)."""
    cfg = P.preprocess.prepare.for_ndim(NDIM[ds])
    if NDIM[ds] == 3 and getattr(P.datasets[ds], "normalization", "window") != "window":
        cfg.pop("window")
    return cfg


def probe_cell_inputs(w):
    """A cell's snapshots, its patches and its split (the probe takes its training cases)."""
    c = cell_of(w)
    return {"snapshots": paths.snapshots(w.cell), "patches": paths.processed(c.dataset, c.noise),
            "split": paths.split(c.dataset, c.train_fraction, c.split_seed)}


def pixels_cell_inputs(w):
    c = cell_of(w)
    return {"snapshots": paths.snapshots(w.cell), "prepared": paths.prepared(c.dataset),
            "split": paths.split(c.dataset, c.train_fraction, c.split_seed)}


# -- landscape.smk

def landscape_inputs(w):
    c = cell_of(w)
    return {"best": f"results/cells/{w.cell}/checkpoint_selected.pt",
            "snapshots": paths.snapshots(w.cell),
            "patches": paths.processed(c.dataset, c.noise),
            "split": paths.split(c.dataset, c.train_fraction, c.split_seed)}


# -- report.smk

def report_figures(w):
    figs = [f for f in rules.probe_all.input if str(f).endswith(".png") or str(f).endswith("dynamics")]
    if P.landscape.cells:
        figs += ["results/landscapes/compare"]
    return figs


def report_pngs(w):
    """PNG files among the figure inputs (folders contribute the PNGs inside them)."""
    out = []
    for f in report_figures(w):
        p = Path(f)
        pattern = "study_*.png" if p.name == "dynamics" else "*.png"  # per-cell dynamics: too many
        out += sorted(str(x) for x in p.glob(pattern)) if p.is_dir() else [str(p)]
    return " ".join(shlex.quote(x) for x in out)
