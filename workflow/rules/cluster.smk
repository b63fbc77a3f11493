# What each job asks a cluster scheduler for (docs/clusters.md): memory and
# runtime sized from the data and the model (segsweep.cluster, with params `cluster:`),
# CPUs from each rule's threads, a GPU and the GPU partition for training only. A local
# run ignores all of it but threads (and gpu, under --resources gpu=N).
from segsweep import cluster as sizing  # noqa: E402

# Small bookkeeping jobs run in the main Snakemake process, never as cluster jobs.
localrules:
    grid,
    resolved_params,
    index,
    split,
    summary,
    probe_dynamics,
    landscape_compare,
    report,


def _data_size(c, input):
    """The sizes of cell ``c``'s data: from disk when the job is ready (Snakemake sizes
    a job again then), from params while the DAG is built."""
    size = sizing.DataSize.read(input.patches, input.split, input.prepared)
    return size or sizing.DataSize.from_params(P, c.dataset)


def train_mem_mb(w, input, attempt):
    """A retry after a failure asks for more memory (the usual failure is running out)."""
    c = cell_of(w)
    k = P.cluster
    return attempt * sizing.train_memory_mb(c, NDIM[c.dataset], _data_size(c, input), k.memory_margin, k.min_memory)


def train_runtime(w, input, attempt):
    """Minutes: the estimate (x the attempt), at most cluster.max_runtime: a cell that
    runs out of time is retried and resumes from its last epoch checkpoint."""
    c = cell_of(w)
    k = P.cluster
    minutes = sizing.train_runtime_min(c, NDIM[c.dataset], _data_size(c, input), k.seconds_per_step,
                                       k.runtime_margin, k.min_runtime)
    return min(k.max_runtime, attempt * minutes)


def data_mem_mb(w, input, attempt):
    """A data job holds its input store in memory (the synthetic generator: its output)."""
    stored = sum(sizing.folder_bytes(str(f)) for f in input)
    if not stored and getattr(w, "ds", None) in P.datasets:
        ds = sizing.DataSize.from_params(P, w.ds)
        stored = ds.eval_voxels * ds.channels * 4
    return attempt * sizing.store_memory_mb(stored, P.cluster.memory_margin, P.cluster.min_memory)


def model_mem_mb(cell_fn):
    """Probe, landscape and example jobs: a model's forward and backward on patches,
    sized like the training of the cell they study (``cell_fn(w)``)."""

    def mem(w, input, attempt):
        c = cell_fn(w)
        k = P.cluster
        size = sizing.DataSize.from_params(P, c.dataset)
        stored = sum(sizing.folder_bytes(str(f)) for f in input)
        train = sizing.train_memory_mb(c, NDIM[c.dataset], size, k.memory_margin, k.min_memory)
        return attempt * (train + sizing.store_memory_mb(stored, k.memory_margin, 0))

    return mem


def gpu_partition(w):
    """$SEGSWEEP_GPU_PARTITION for cells that may use a GPU; None (the cluster's default
    partition, or the SLURM plugin's choice) when unset or for CPU cells."""
    return os.environ.get("SEGSWEEP_GPU_PARTITION") or None if cell_of(w).device != "cpu" else None


def gpu_model(w):
    """$SEGSWEEP_GPU_MODEL (e.g. a100): the plugin asks for --gpus=<model>:1."""
    return os.environ.get("SEGSWEEP_GPU_MODEL") or None if cell_of(w).device != "cpu" else None
