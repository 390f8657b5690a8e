// Pipeline stage builders in the style of sponnet: a constructor with the required
// fields, then `with...` methods that return a changed copy. Methods are hidden fields
// (`::`), so they never appear in the output.
local stage(type, name, refId) = {
  type: type,
  name: name,
  refId: refId,
  requisiteStageRefIds: [],

  // Runs after all of `stages` (the stage DAG).
  withRequisites(stages):: self + { requisiteStageRefIds: [s.refId for s in stages] },
  // Runs only when the SpEL expression (without `${}`) is true; skipped otherwise.
  withEnabledExpression(expression):: self + { stageEnabled: { type: 'expression', expression: expression } },
  // Deck's "ignore the failure": the stage ends FAILED_CONTINUE and the pipeline goes on,
  // so a later stage can react to it.
  withContinueOnFailure():: self + { failPipeline: false, continuePipeline: true },
  withTimeoutMs(ms):: self + { overrideTimeout: true, stageTimeoutMs: ms },
};

{
  deployManifest(name, refId, account, application, namespace, manifests):: stage('deployManifest', name, refId) + {
    account: account,
    cloudProvider: 'kubernetes',
    source: 'text',
    manifests: manifests,
    moniker: { app: application },
    namespaceOverride: namespace,
    // The manifests carry a Postman collection, whose scripts may contain `${...}`:
    // never let Spinnaker evaluate them as SpEL.
    skipExpressionEvaluation: true,
    // Spinnaker's own blue/green only works on ReplicaSets; Argo Rollouts switches traffic.
    trafficManagement: { enabled: false, options: { enableTraffic: false, services: [] } },
    withRequiredArtifactIds(ids):: self + { requiredArtifactIds: ids },
  },

  // Run Job (Manifest). Orca only knows the stage by its alias `runJob`; Deck adds it too.
  runJob(name, refId, account, application, job):: stage('runJobManifest', name, refId) + {
    alias: 'runJob',
    account: account,
    credentials: account,
    cloudProvider: 'kubernetes',
    application: application,
    source: 'text',
    manifest: job,
    // Reads `SPINNAKER_PROPERTY_KEY=value` lines of `container`'s log into the stage outputs.
    withPropertyFile(container):: self + { consumeArtifactSource: 'propertyFile', propertyFile: container },
  },

  manualJudgment(name, refId, instructions, inputs):: stage('manualJudgment', name, refId) + {
    instructions: instructions,
    judgmentInputs: [{ value: v } for v in inputs],
    notifications: [],
  },

  // Fails the pipeline with `message` when the SpEL `expression` (without `${}`) is not
  // true; an expression that cannot be evaluated counts as false (Orca's
  // ExpressionPreconditionTask).
  precondition(name, refId, expression, message):: stage('checkPreconditions', name, refId) + {
    preconditions: [{
      type: 'expression',
      context: { expression: expression, failureMessage: message },
      failPipeline: true,
    }],
  },

  // Fails the pipeline with `message` (the precondition `false` never holds).
  failPipeline(name, refId, message):: self.precondition(name, refId, 'false', message),
}
