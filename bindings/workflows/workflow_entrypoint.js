// What every worker may reach of Cloudflare Workflows before it uses one:
// `WorkflowEntrypoint` (cloudflare:workers, which most workers import for
// WorkerEntrypoint) and `NonRetryableError` (cloudflare:workflows), and the
// dispatcher of a workflow run prepared for each worker when it loads
// (Worker::Workflow calls it). The rest (the run's replay, the step API, the
// binding's classes) is workflow.js, evaluated on first use
// (runtime/lazy_js.h): by a worker's first workflow run, or when its env
// gets a `[[workflows]]` binding.

const { createDataProperty } = internals;
const { ErrorCtor } = internals.primordials;

// Workers' error for failures no retry helps (cloudflare:workflows).
class NonRetryableError extends ErrorCtor {
  constructor(message, name = "NonRetryableError") {
    super(message);
    createDataProperty(this, "name", name);
  }
}
internals.NonRetryableError = NonRetryableError;

// Workers' base class of a workflow (cloudflare:workers): a new instance
// per run, with `this.ctx` and `this.env` as own data properties.
class WorkflowEntrypoint {
  constructor(ctx, env) {
    createDataProperty(this, "ctx", ctx);
    createDataProperty(this, "env", env);
  }
}
internals.WorkflowEntrypoint = WorkflowEntrypoint;

// The C++ side calls what this returns per run (Worker::Workflow); the
// first call evaluates workflow.js, whose workflowDispatcher makes the real
// dispatcher for the worker's exports.
internals.prepareWorkflowHandler = function prepareWorkflowHandler(exported, named) {
  let dispatch;
  return function dispatchWorkflow(id, className, instanceId, params, timestamp, steps, env) {
    if (dispatch === undefined) dispatch = internals.workflowDispatcher(exported, named);
    return dispatch(id, className, instanceId, params, timestamp, steps, env);
  };
};
