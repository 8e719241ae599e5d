package vertex

// activatorRuns is the Ready message of a source or sink vertex: it has
// nothing of its own to run.
const activatorRuns = "run by the activator; no workload"
