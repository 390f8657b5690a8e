// The release: what runs, in which order, and when each step is skipped.
//
// Blue-green (the default):
//   [Check parameters] -> [Check error budget] -> Deploy -> Wait for preview -> [Scenario test]
//     -> [Analyse preview] -> [Approve promotion] -> Promote -> [Analyse promoted] -> Verify
//     -> Roll back -> Fail release
// Canary (`Canary`), the first step held for the test and the judgment when there are any:
//   [Check parameters] -> [Check error budget] -> Deploy -> Wait for canary -> [Scenario test]
//     -> [Approve promotion] -> [Promote] -> [Analyse canary] -> Verify -> Roll back -> Fail release
// The stages in brackets exist only with what asks for them: a manual trigger, SLOs and
// their gates (slo.libsonnet, docs/slo.md), a test, a judgment.
//
// One chain: every stage after Deploy starts when the one before it has ended (Orca starts
// a stage whose parents are SUCCEEDED, FAILED_CONTINUE or SKIPPED), and its `stageEnabled`
// expression decides whether it runs. The steps that may fail without ending the release
// (wait, test, analyses, approval, promote, verify) "continue on failure", so that the
// stages after them can choose: promote, roll back, or fail. The end states (README, "The
// pipeline it generates"; the scenario table in tests/release_scenarios.rs checks each):
// - promoted and verified: SUCCEEDED;
// - nothing new (the running image re-deployed): SUCCEEDED, the cluster unchanged;
// - rolled back: TERMINAL ("Fail release"), traffic on the revision that ran before;
// - failed before deploying ("Check parameters", "Check error budget", "Deploy"): TERMINAL.
//
// The expressions never call a function that can throw on a normal run (`#judgment`
// throws when a judgment was continued without an input, and Orca then skips the stage
// silently): they read `#stage(...)['status']` and `['context']`, which are null, not
// errors, when a value is missing, so that every branch is decided.
local pipeline = import '../lib/pipeline.libsonnet';
local stages = import '../lib/stages.libsonnet';
local triggers = import '../lib/triggers.libsonnet';
local artifacts = import '../lib/artifacts.libsonnet';
local notifications = import '../lib/notifications.libsonnet';
local config = import '../config.libsonnet';
local manifests = import 'manifests.libsonnet';
local jobs = import 'jobs.libsonnet';
local slo = import 'slo.libsonnet';

local names = {
  check: 'Check parameters',
  provenance: 'Check provenance',
  budget: 'Check error budget',
  deploy: 'Deploy',
  wait: 'Wait for preview',
  waitCanary: 'Wait for canary',
  test: 'Scenario test',
  analysePreview: 'Analyse preview',
  approve: 'Approve promotion',
  promote: 'Promote',
  analysePromoted: 'Analyse promoted',
  analyseCanary: 'Analyse canary',
  verify: 'Verify',
  rollback: 'Roll back',
  fail: 'Fail release',
};

// Which optional steps a release has.
local shape(r) = {
  canary: r.canary != null,
  budget: r.slo != null && r.slo.budgetGate,
  analysePreview: !self.canary && r.slo != null && r.slo.previewAnalysis,
  analysePromoted: !self.canary && r.slo != null && r.slo.postPromotionAnalysis,
  analyseCanary: self.canary && r.slo != null && r.slo.previewAnalysis,
  // A canary holds its first step for the test and the judgment (slo.libsonnet `canary`);
  // without either the steps run by themselves and nothing is promoted by the pipeline.
  promote: !self.canary || r.scenarioTest != null || r.manualJudgment != null,
  wait: if self.canary then names.waitCanary else names.wait,
};
local promoteChoice = 'Promote';
local rollbackChoice = 'Roll back';

local status(stage) = "#stage('%s')['status'].toString()" % stage;
local succeeded(stage) = "%s == 'SUCCEEDED'" % status(stage);
// A value the wait job reported (see jobs.libsonnet): in the stage's context whether the
// job succeeded or failed.
local reported(r, key) = "#stage('%s')['context']['%s']" % [shape(r).wait, key];

// SpEL conditions (without `${}`) over the stages that ran before.
local conditions(r) = {
  local has = shape(r),
  // The wait job saw a revision that this release deployed and that is not the running one.
  newRevision: "%s == 'true'" % reported(r, jobs.outputs.newRevision),
  // ... and it is ready: in the preview service (its analysis started, or paused for
  // promotion), or running as the canary (held at its first step for the test).
  ready: '%s and %s' % [succeeded(has.wait), self.newRevision],
  nothingNew: "%s and %s == 'false'" % [succeeded(has.wait), reported(r, jobs.outputs.newRevision)],
  judgedPromote: "%s and #stage('%s')['context']['judgmentInput'] == '%s'" % [succeeded(names.approve), names.approve, promoteChoice],
  promote: std.join(' and ',
    [self.ready]
    + (if r.scenarioTest == null then [] else [succeeded(names.test)])
    + (if has.analysePreview then [succeeded(names.analysePreview)] else [])
    + (if r.manualJudgment == null then [] else [self.judgedPromote])),
  // The step before Verify that must have succeeded.
  beforeVerify: if has.analysePromoted then succeeded(names.analysePromoted)
  else if has.analyseCanary then succeeded(names.analyseCanary)
  else if has.promote then succeeded(names.promote)
  else self.ready,
  verified: succeeded(names.verify),
  rollback: '%s and !(%s)' % [self.newRevision, self.verified],
  fail: '!(%s or (%s))' % [self.verified, self.nothingNew],
};

// The Slack text added to the "complete" and "failed" notifications of a release with
// SLOs: why the error-budget gate blocked or was overridden, and which SLO an analysis
// found broken, with the measured value and the threshold (the jobs' `budget_message` and
// `analysis_message`). Orca evaluates the pipeline's notifications with the execution as
// context when the execution starts and again when it ends (EchoNotifyingExecutionListener
// processSpelInNotifications), and Echo's Slack agent appends `message.<event>.text` to
// its text when it is not empty (SlackNotificationAgent). At the start every stage is
// NOT_STARTED: the expression yields null, which leaves it as written (ExpressionTransform)
// for the end; at the end the first stage has always run.
local slackMessage(r, first) =
  local has = shape(r);
  local ctx(stage, key) = "#stage('%s')['context']['%s']" % [stage, key];
  local budget = "(%s == 'passed' ? '' : (%s ?: ''))" % [ctx(names.budget, slo.budgetOutputs(r.slo).result), ctx(names.budget, slo.budgetOutputs(r.slo).message)];
  // An analysis' message only from its own stage: `['context'][key]` falls back to the
  // ancestors' outputs when the stage's own context lacks the key (orca-core StageContext
  // `get`), so a promoted analysis whose job died without a log would otherwise report the
  // preview's "Every SLO was met". `containsKey` is the context's own map (StageContext is a
  // ForwardingMap: only `get` falls back); a stage that failed without a message says so.
  local analysis(stage) =
    local key = slo.analysisOutputs.message;
    "(%s == 'FAILED_CONTINUE' ? (#stage('%s')['context'].containsKey('%s') ? (%s ?: '') : '%s') : '')" % [
      status(stage),
      stage,
      key,
      ctx(stage, key),
      '%s failed without reporting a result (its job left no log to read): see the stage in Spinnaker.' % stage,
    ];
  local parts = (if has.budget then [budget] else [])
                + [analysis(s) for s in [names.analysePreview, names.analysePromoted, names.analyseCanary]
                   if (s == names.analysePreview && has.analysePreview)
                      || (s == names.analysePromoted && has.analysePromoted)
                      || (s == names.analyseCanary && has.analyseCanary)];
  if parts == [] then null
  else "${%s == 'NOT_STARTED' ? null : (%s).trim()}" % [status(first), std.join(" + ' ' + ", parts)];

// A Docker tag: what `docker tag` accepts (distribution/reference's tag grammar).
local tagPattern = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';

local imageArtifactId(r) = r.application + '-image';

// With authorization (Fiat), every trigger runs as `runAsUser`: Echo runs a trigger
// without one as `anonymous` and skips it when anonymous may not EXECUTE the application
// (echo-pipelinetriggers BaseTriggerEventHandler `canAccessApplication`), and Orca starts
// a pipeline-triggered pipeline as its trigger's runAsUser
// (orca-front50 DependentPipelineExecutionListener). The policy rule AllowedRunAsUsers
// checks the name against the platform's list (src/platform/policy.rs).
local trigger(r) =
  local ids = [imageArtifactId(r)];
  local t = r.trigger;
  local all =
    if r.previousPipeline != null then [triggers.pipeline(r.application, r.previousPipeline, ['successful'], ids)]
    else if t.type == 'docker' then [triggers.docker(t.account, r.imageParts.registry, r.imageParts.repository,
                                                r.imageParts.organization, t.tag, ids)]
    else if t.type == 'pubsub' then [triggers.pubsub(t.subscription, ids)]
    else if t.type == 'webhook' then [triggers.webhook(t.source, ids)]
    else [];
  [x + (if r.runAsUser == null then {} else { runAsUser: r.runAsUser }) for x in all];

// The first environment of a release with a manual trigger is started by hand, with the
// tag as a parameter; every other release gets its image from its trigger.
local startedByHand(r) = r.previousPipeline == null && r.trigger.type == 'manual';

local expectedArtifact(r) =
  local a = artifacts.dockerImage(imageArtifactId(r), r.image);
  if startedByHand(r)
  // Started by hand: the tag is a parameter, resolved when the run starts.
  then a.withDefaultReference(r.image + ":${trigger['parameters']['tag']}")
  else a;

local parameters(r) =
  (if !startedByHand(r) then [] else [{
     name: 'tag',
     label: 'Image tag',
     description: 'Tag of %s to release' % r.image,
     required: true,
     default: '',
     hasOptions: false,
     options: [],
     pinned: true,
   }])
  + (if shape(r).budget then [slo.overrideParameter] else []);

local releaseStages(r) =
  local c = conditions(r);
  local has = shape(r);
  local n = manifests.names(r);
  local job(name, refId, manifest, requisites, propertyFile=null, enabled=null, continueOnFailure=false) =
    stages.runJob(name, refId, r.account, r.application, manifest, propertyFile, requisites, enabled, continueOnFailure);
  // Started by hand, the release needs the tag it was given: an empty one would deploy
  // `image:` (Spinnaker does not enforce `required` parameters when a run is started
  // through its API).
  local check = if !startedByHand(r) then null else
    stages.precondition(
      names.check, 'check-parameters',
      "parameters['tag'] != null and parameters['tag'] matches '%s'" % tagPattern,
      'Start %s with the parameter `tag`: the tag of %s to release (letters, digits, `_`, `.` and `-`, at most 128 characters).' % [r.pipelineName, r.image],
    );
  // Every environment after the first deploys only an image released by a SUCCEEDED run
  // of the environment before it, however this run was started. Orca puts the parent
  // execution into the trigger for each way: the pipeline trigger (DependentPipelineStarter),
  // Deck's manual run and the API with `parentPipelineId` (OperationsController loads that
  // execution, of any status, and takes its artifacts), a re-run (the stored trigger, its
  // parentExecution included). Deck pre-selects the newest execution of the parent, whatever
  // its status, so the check must be here, not in people's care. A run started without a
  // parent (the API, with artifacts of its own) has no parentExecution and is refused too.
  // Any SUCCEEDED run of the previous environment is accepted, not only its latest: an
  // older image that passed it is how production goes back to a known version, and Orca's
  // expressions cannot list executions to tell which run is the latest (docs/platform.md,
  // "Provenance"). `trigger` is the trigger as a Map (ContextParameterProcessor): the
  // parent's status is a String there.
  local provenance = if r.previousPipeline == null then null else
    local parent = "trigger['parentExecution']";
    stages.precondition(
      names.provenance, 'check-provenance',
      "%(p)s != null and %(p)s['application'] == '%(app)s' and %(p)s['name'] == '%(prev)s' and %(p)s['status'] == 'SUCCEEDED'" % {
        p: parent, app: r.application, prev: r.previousPipeline,
      },
      // Evaluated when the stage starts (its context is processed as SpEL), so the refusal
      // names the execution it was started from.
      '%(name)s deploys only an image released by a SUCCEEDED run of %(prev)s (application %(app)s); this run was started from ${%(p)s == null ? \'no execution of %(prev)s (started by hand or through the API without a parent execution)\' : \'execution \' + %(p)s[\'id\'] + \' of \' + %(p)s[\'application\'] + \'/\' + %(p)s[\'name\'] + \' whose status is \' + %(p)s[\'status\']}. Start it from a successful run of %(prev)s.' % {
        name: r.pipelineName, prev: r.previousPipeline, app: r.application, p: parent,
      },
    );
  // Before anything is deployed: every SLO's remaining error budget. An exhausted one
  // fails the stage, and with it the release, unless the run carries the override
  // parameter (its value is the reason; Orca leaves an expression that yields null as its
  // own text, hence the Elvis operator).
  local budget = if !has.budget then null else
    job(names.budget, 'error-budget', slo.budgetJob(r, r.slo, "${parameters['%s'] ?: ''}" % slo.overrideParameter.name),
        requisites=[st for st in [check, provenance] if st != null],
        propertyFile=slo.names(r).budgetContainer);
  local first = [st for st in [check, provenance] if st != null];
  local deploy = stages.deployManifest(names.deploy, 'deploy', r.account, r.application, r.namespace, manifests.all(r),
                                       requiredArtifactIds=[imageArtifactId(r)],
                                       requisites=first + [st for st in [budget] if st != null]);
  local wait = job(if has.canary then names.waitCanary else names.wait,
                   if has.canary then 'wait-canary' else 'wait-preview',
                   if has.canary then jobs.waitForCanary(r) else jobs.waitForPreview(r),
                   requisites=[deploy],
                   propertyFile=jobs.waitContainer,
                   continueOnFailure=true);
  local test = if r.scenarioTest == null then null else
    job(names.test, 'scenario-test', jobs.scenarioTest(r),
        requisites=[wait], enabled=c.ready, continueOnFailure=true);
  // The preview's analysis started when its pods became ready (the wait returns then) and
  // measured the scenario test's requests: wait for its result.
  local analysePreview = if !has.analysePreview then null else
    job(names.analysePreview, 'analyse-preview',
        slo.analysisWaitJob(r, r.slo, 'prePromotion', slo.analysisDeadlineSeconds(r.slo), n.rollout, n.releaseAccount,
                            testFirst=test != null),
        requisites=[if test == null then wait else test],
        propertyFile=slo.names(r).analysisContainer,
        enabled=std.join(' and ', [c.ready] + (if test == null then [] else [succeeded(names.test)])),
        continueOnFailure=true);
  local beforeApproval = [st for st in [analysePreview, test, wait] if st != null][0];
  local approve = if r.manualJudgment == null then null else
    stages.manualJudgment(
      names.approve, 'approve',
      if r.manualJudgment.instructions == null
      then 'Promote %s to all traffic, or roll it back?' % r.application
      else r.manualJudgment.instructions,
      [promoteChoice, rollbackChoice],
      requisites=[beforeApproval],
      enabled=std.join(' and ',
        [c.ready]
        + (if test == null then [] else [succeeded(names.test)])
        + (if analysePreview == null then [] else [succeeded(names.analysePreview)])),
      continueOnFailure=true,
    );
  local lastGate = if approve != null then approve else beforeApproval;
  local promote = if !has.promote then null else
    job(names.promote, 'promote', jobs.promote(r),
        requisites=[lastGate], enabled=c.promote, continueOnFailure=true);
  local afterPromote = if promote != null then promote else lastGate;
  // After the switch: the post-promotion analysis of the promoted version under live
  // traffic (a failure makes Argo Rollouts switch back: rollout/service.go).
  local analysePromoted = if !has.analysePromoted then null else
    job(names.analysePromoted, 'analyse-promoted',
        slo.analysisWaitJob(r, r.slo, 'postPromotion', slo.analysisDeadlineSeconds(r.slo), n.rollout, n.releaseAccount),
        requisites=[afterPromote],
        propertyFile=slo.names(r).analysisContainer,
        enabled=succeeded(names.promote),
        continueOnFailure=true);
  // The canary's steps, each weight followed by its analysis: until it is the stable
  // revision, or an analysis stopped it.
  local analyseCanary = if !has.analyseCanary then null else
    job(names.analyseCanary, 'analyse-canary', slo.canaryWaitJob(r, r.slo, r.canary, n.rollout, n.releaseAccount),
        requisites=[afterPromote],
        propertyFile=slo.names(r).analysisContainer,
        enabled=if promote != null then succeeded(names.promote) else c.ready,
        continueOnFailure=true);
  local beforeVerify = [st for st in [analysePromoted, analyseCanary, afterPromote] if st != null][0];
  local verify = job(names.verify, 'verify', jobs.verify(r),
                     requisites=[beforeVerify], enabled=c.beforeVerify, continueOnFailure=true);
  local rollback = job(names.rollback, 'rollback',
                       jobs.rollback(r, '${%s}' % reported(r, jobs.outputs.stableRevision), '${%s}' % reported(r, jobs.outputs.stableHash)),
                       requisites=[verify], enabled=c.rollback);
  local fail = stages.failPipeline(names.fail, 'fail',
                                   'The release of %s ended without a promoted and verified new version. Traffic stays on the version that ran before it; the stages above show what failed and whether a new revision was rolled back.' % r.application,
                                   requisites=[rollback], enabled=c.fail);
  [s for s in [check, provenance, budget, deploy, wait, test, analysePreview, approve, promote, analysePromoted, analyseCanary, verify, rollback, fail] if s != null];

{
  application(r)::
    pipeline.application(r.application, r.email)
    .withRepository(r.repo.type, r.repo.project, r.repo.slug)
    .withDescription('Pipelines generated by kujira-gen from %s' % r.source),

  pipeline(r)::
    local releaseStagesOfR = releaseStages(r);
    local message = if r.slo == null then null else slackMessage(r, releaseStagesOfR[0].name);
    pipeline.pipeline(r.application, r.pipelineName)
    .withDescription('%s release of %s to %s/%s with Argo Rollouts%s.' % [
      if r.canary == null then 'Blue-green' else 'Canary',
      r.application,
      r.account,
      r.namespace,
      if r.environment == null then ''
      else if r.previousPipeline == null then ' (environment %s)' % r.environment
      else ' (environment %s, after %s succeeds, with the image it released)' % [r.environment, r.previousPipeline],
    ])
    .withTriggers(trigger(r))
    .withParameters(parameters(r))
    .withExpectedArtifacts([expectedArtifact(r)])
    .withNotifications([notifications.slack(r.slack.channel, r.slack.events, message)])
    .withStages(releaseStagesOfR)
    .withLock('Generated by kujira-gen from %s. Change that file, not this pipeline: edits made here are overwritten.' % r.source),
}
