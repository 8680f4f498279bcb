/// The distribution settings a run config names (`training.placement`, `scaling`, `lending`,
/// `oversubscription`); the placement that acts on them is SMTLDistribution's `Placement`.

public enum PlacementStrategy: String, CaseIterable, Sendable { case balanced, blocks }
public enum ScalingMode: String, CaseIterable, Sendable { case strong, weak }
/// Step-by-step loans between ranks (`training.lending`; `Placement.loans` makes them): `whole`
/// (default) — whole tasks only, so that every task's gradient is computed as in one process
/// and the run keeps one process's bits; `split` — part of a task's batch or all of it,
/// which evens out far more steps, to float32 rounding per step (a task split for the step);
/// `none`.
public enum Lending: String, CaseIterable, Sendable { case split, whole, none }
/// Ranks beyond a host's cores (`training.oversubscription`): `idle` (default) — only as many
/// ranks per host as it has cores train, the others step aside and wait, sleeping, for the
/// end; `share` — every rank trains, and ranks that share a core take turns on it (each
/// repeating the step's bookkeeping, docs/scaling.md: 4 ranks on 2 cores ran slower than 2).
public enum Oversubscription: String, CaseIterable, Sendable { case idle, share }
