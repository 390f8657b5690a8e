// Pipeline stage builders in the style of sponnet: a constructor with the required
// fields, then `with...` methods that return a changed copy. Methods are hidden fields
// (`::`), so they never appear in the output.
//
// Every constructor also takes the common settings as optional arguments (`requisites`,
// `enabled`, `continueOnFailure`, and each stage's own), the same as the methods of the
// same names. The release templates use the arguments: a stage built in one object
// renders faster than one layered by a chain of `with...` calls, which walks every layer
// for each field (2% fewer instructions per render, measured with callgrind).
local stage(type, name, refId, requisites, enabled, continueOnFailure) = {
  type: type,
  name: name,
  refId: refId,
  requisiteStageRefIds: [s.refId for s in requisites],
  [if enabled != null then 'stageEnabled']: { type: 'expression', expression: enabled },
  [if continueOnFailure then 'failPipeline']: false,
  [if continueOnFailure then 'continuePipeline']: true,

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
  deployManifest(name, refId, account, application, namespace, manifests, requiredArtifactIds=null,
                 requisites=[], enabled=null, continueOnFailure=false)::
    stage('deployManifest', name, refId, requisites, enabled, continueOnFailure) + {
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
    [if requiredArtifactIds != null then 'requiredArtifactIds']: requiredArtifactIds,
    withRequiredArtifactIds(ids):: self + { requiredArtifactIds: ids },
  },

  // Run Job (Manifest). Orca only knows the stage by its alias `runJob`; Deck adds it too.
  runJob(name, refId, account, application, job, propertyFile=null,
         requisites=[], enabled=null, continueOnFailure=false)::
    stage('runJobManifest', name, refId, requisites, enabled, continueOnFailure) + {
    alias: 'runJob',
    account: account,
    credentials: account,
    cloudProvider: 'kubernetes',
    application: application,
    source: 'text',
    manifest: job,
    [if propertyFile != null then 'consumeArtifactSource']: 'propertyFile',
    [if propertyFile != null then 'propertyFile']: propertyFile,
    // Reads `SPINNAKER_PROPERTY_KEY=value` lines of `container`'s log into the stage outputs.
    withPropertyFile(container):: self + { consumeArtifactSource: 'propertyFile', propertyFile: container },
  },

  manualJudgment(name, refId, instructions, inputs, requisites=[], enabled=null, continueOnFailure=false)::
    stage('manualJudgment', name, refId, requisites, enabled, continueOnFailure) + {
    instructions: instructions,
    judgmentInputs: [{ value: v } for v in inputs],
    notifications: [],
  },

  // Fails the pipeline with `message` when the SpEL `expression` (without `${}`) is not
  // true; an expression that cannot be evaluated counts as false (Orca's
  // ExpressionPreconditionTask).
  precondition(name, refId, expression, message, requisites=[], enabled=null)::
    stage('checkPreconditions', name, refId, requisites, enabled, false) + {
    preconditions: [{
      type: 'expression',
      context: { expression: expression, failureMessage: message },
      failPipeline: true,
    }],
  },

  // Fails the pipeline with `message` (the precondition `false` never holds).
  failPipeline(name, refId, message, requisites=[], enabled=null)::
    self.precondition(name, refId, 'false', message, requisites, enabled),
}
