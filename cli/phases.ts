/** What a benchmark is doing while the state machine is in each state: shown as progress. */
export const PHASE_OF_STATE: Readonly<Record<string, string>> = {
  ValidateInput: "validating input",
  ResolveImage: "resolving image",
  LaunchInstance: "launching",
  Observe: "waiting for running, probing port",
  TerminateInstance: "terminating",
  RecordRun: "recording",
  Summarise: "summarising",
  DiscoverTargets: "discovering targets",
  Benchmarks: "running its benchmarks",
  SummariseSuite: "summarising the suite, comparing with previous images",
};
