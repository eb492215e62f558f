/**
 * Every size limit of a ClusterService request, in one table. Each is far above anything a real
 * user sends, and each keeps one request from freezing the manager (work per request is bounded
 * by these), wedging it, or bloating it (what a request can make the manager keep is bounded).
 * A request over a limit is refused with INVALID_ARGUMENT naming the field, the value (cut short)
 * and the limit, before any work is done. Sizes of strings are UTF-8 bytes.
 *
 * The whole message is bounded before it is decoded: grpc-js refuses a request over 4 MiB
 * (`grpc.max_receive_message_length`, its default) with RESOURCE_EXHAUSTED.
 */
export const requestLimits = {
  // ---- engines and discovery ----
  /** An engine-agent address, host:port (a DNS name is at most 253 bytes). AddEngine, SyncEngines. */
  addressBytes: 300,
  /** An engine or container reference: address, ID, ID prefix or name. Get/RemoveEngine, container calls, filters. */
  referenceBytes: 512,
  /** A discovery source name, e.g. an etcd URI with several endpoints. SyncEngines. */
  sourceBytes: 2048,
  /** Addresses in one SyncEngines push (discovery's own sets stop at 4,096; the manager at --max-engines). */
  syncAddresses: 50_000,
  /** Sources one discovery identity may push; each is remembered until the manager restarts. */
  sourcesPerPusher: 64,
  /**
   * How far a SyncEngines generation may be ahead of the manager's clock, in milliseconds.
   * Discovery starts its generation at its clock in milliseconds and adds one per change, so an
   * honest generation is near the clock; one far ahead would make the source ignore every later
   * honest push.
   */
  generationLeadMs: 24 * 60 * 60 * 1000,

  // ---- filters and paging (ListEngines, ListContainers, WatchEvents, PullImage) ----
  /** Entries of one filter list: statuses, engines, states, names, types, containers, PullImage engines. */
  filterEntries: 1000,
  /** A filter value that is not an engine or container reference: a type or a state. */
  filterValueBytes: 256,
  /** A page token (opaque, made by the manager). */
  pageTokenBytes: 4096,

  // ---- labels, in a spec and in filters ----
  labelEntries: 1000,
  labelKeyBytes: 1024,
  labelValueBytes: 64 * 1024,
  /** Keys and values of one label map together (Kubernetes' limit for annotations). */
  labelsTotalBytes: 256 * 1024,

  // ---- the container spec (CreateContainer, ExplainPlacement) ----
  /** The encoded ContainerSpec: the agent's own 4 MiB receive limit must never be met by a forwarded create. */
  specBytes: 2 * 1024 * 1024,
  /** A container name: Docker's grammar `/?[a-zA-Z0-9][a-zA-Z0-9_.-]+`, at most this long. */
  nameBytes: 255,
  /** A create's request ID (idempotency key), [A-Za-z0-9._-]. CreateContainer. */
  requestIdBytes: 128,
  /** An image reference: repository (Docker allows 255), tag (128) and digest (71). Also PullImage. */
  imageBytes: 512,
  /** A registry user name or server address (RegistryAuth). PullImage, CreateContainer. */
  registryNameBytes: 1024,
  /** A registry password or identity token (RegistryAuth). */
  registrySecretBytes: 8 * 1024,
  /** Entries of command, and of entrypoint. */
  argvEntries: 4096,
  /** One argument: Linux's MAX_ARG_STRLEN. */
  argBytes: 128 * 1024,
  /** All arguments of command, or of entrypoint, together. */
  argvTotalBytes: 1024 * 1024,
  envEntries: 1000,
  /** One KEY=VALUE entry (a certificate or key in an environment variable fits). */
  envEntryBytes: 32 * 1024,
  envTotalBytes: 1024 * 1024,
  portBindings: 1024,
  /** An IP address (an IPv6 address with a zone is at most 45 characters and a zone). */
  hostIpBytes: 64,
  /** "tcp", "udp" or "sctp". */
  protocolBytes: 16,
  /** network_mode, pid_mode, ipc_mode, uts_mode: a word or `container:<name|id>`. */
  modeBytes: 512,
  /** restart_policy.name and strategy: one word. */
  wordBytes: 64,
  /** Constraints from every source of a spec together: the field, `constraint:` env entries, the label. */
  constraints: 64,
  /** Affinities, counted the same way. */
  affinities: 64,
  /** One placement expression. */
  expressionBytes: 1024,
  /** cap_add: Linux has about 40 capabilities. */
  capabilities: 64,
  capabilityBytes: 64,
  devices: 256,
  /** A device or bind: two paths (PATH_MAX is 4096) and options. */
  deviceBytes: 8192,
  binds: 1000,
  bindBytes: 8192,
  /** Structured mounts; each source and target is a path (PATH_MAX), each has a few options. */
  mounts: 1000,
  mountPathBytes: 4096,
  mountOptions: 16,
  mountOptionBytes: 256,
  /** tmpfs mounts: path in the container to mount options. */
  tmpfsEntries: 1000,
  tmpfsPathBytes: 4096,
  tmpfsOptionsBytes: 1024,
  /** USER[:GROUP]. */
  userBytes: 256,
  /** working_dir: a path. */
  pathBytes: 4096,
  /** A host name (Linux: 64). */
  hostnameBytes: 63,
  /** DNS servers (resolv.conf reads 3). */
  dnsEntries: 16,
  dnsBytes: 64,
  /** Extra /etc/hosts entries, HOST:IP. */
  extraHosts: 1000,
  extraHostBytes: 512,
  /** health_check.test: as a command line, but at most this much together. */
  healthTestTotalBytes: 1024 * 1024,
  /** The log driver's name, and its options. */
  logDriverBytes: 64,
  logOptionEntries: 64,
  logOptionKeyBytes: 256,
  logOptionValueBytes: 4096,
  /** Linux has 16 resource limits. */
  ulimits: 32,
  /** cpuset_cpus, e.g. "0-3,8-11". */
  cpusetBytes: 256,

  // ---- container operations ----
  /** A signal name or number, e.g. SIGRTMIN+15. */
  signalBytes: 32,
  /** StopContainer's grace period: a day. */
  stopTimeoutSeconds: 24 * 60 * 60,
  /** WaitContainer's condition, e.g. "not-running". */
  waitConditionBytes: 32,
  /** TopContainer's `ps` options, e.g. "-o pid,user,comm". */
  psArgsBytes: 256,
} as const;

/**
 * Defaults of the manager's engine limits (--max-engines, --max-pending-engines). Refusals are
 * RESOURCE_EXHAUSTED naming the limit and its flag; nothing in the cluster is touched then.
 *
 * - maxEngines bounds every engine, pending or not, however it was added (AddEngine, --engine,
 *   discovery): twice the 10,000 engines the manager is built for.
 * - maxPendingEngines bounds pending engines added by hand (AddEngine, --engine) only: an address
 *   that never validates costs a connection retried forever, and a hand can add one at a time.
 *   Discovery's pending engines are bounded by maxEngines alone: discovery pushes a whole set it
 *   read from a source an operator configured, and its first push of a 10,000-engine cluster
 *   makes all of them pending at once.
 */
export const engineLimitDefaults = {
  maxEngines: 20_000,
  maxPendingEngines: 1_000,
} as const;
