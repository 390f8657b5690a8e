// The blue-green release: what runs, in which order, and when each step is skipped.
//
//   [Check parameters] -> Deploy -> Wait for preview -> [Scenario test] -> [Approve promotion]
//     -> Promote -> Verify -> Roll back -> Fail release
//
// One chain: every stage after Deploy starts when the one before it has ended (Orca starts
// a stage whose parents are SUCCEEDED, FAILED_CONTINUE or SKIPPED), and its `stageEnabled`
// expression decides whether it runs. The steps that may fail without ending the release
// (wait, test, approval, promote, verify) "continue on failure", so that the stages after
// them can choose: promote, roll back, or fail. The end states (README, "The pipeline it
// generates"; the scenario table in tests/release_scenarios.rs checks each):
// - promoted and verified: SUCCEEDED;
// - nothing new (the running image re-deployed): SUCCEEDED, the cluster unchanged;
// - rolled back: TERMINAL ("Fail release"), traffic on the revision that ran before;
// - failed before deploying ("Check parameters", "Deploy"): TERMINAL.
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

local names = {
  check: 'Check parameters',
  deploy: 'Deploy',
  wait: 'Wait for preview',
  test: 'Scenario test',
  approve: 'Approve promotion',
  promote: 'Promote',
  verify: 'Verify',
  rollback: 'Roll back',
  fail: 'Fail release',
};
local promoteChoice = 'Promote';
local rollbackChoice = 'Roll back';

local status(stage) = "#stage('%s')['status'].toString()" % stage;
local succeeded(stage) = "%s == 'SUCCEEDED'" % status(stage);
// A value the wait job reported (see jobs.libsonnet): in the stage's context whether the
// job succeeded or failed.
local reported(key) = "#stage('%s')['context']['%s']" % [names.wait, key];

// SpEL conditions (without `${}`) over the stages that ran before.
local conditions(r) = {
  // The wait job saw a revision that this release deployed and that is not the running one.
  newRevision: "%s == 'true'" % reported(jobs.outputs.newRevision),
  // ... and it is ready in the preview service, paused for promotion.
  ready: '%s and %s' % [succeeded(names.wait), self.newRevision],
  nothingNew: "%s and %s == 'false'" % [succeeded(names.wait), reported(jobs.outputs.newRevision)],
  judgedPromote: "%s and #stage('%s')['context']['judgmentInput'] == '%s'" % [succeeded(names.approve), names.approve, promoteChoice],
  promote: std.join(' and ',
    [self.ready]
    + (if r.scenarioTest == null then [] else [succeeded(names.test)])
    + (if r.manualJudgment == null then [] else [self.judgedPromote])),
  verified: succeeded(names.verify),
  rollback: '%s and !(%s)' % [self.newRevision, self.verified],
  fail: '!(%s or (%s))' % [self.verified, self.nothingNew],
};

// A Docker tag: what `docker tag` accepts (distribution/reference's tag grammar).
local tagPattern = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';

local imageArtifactId(r) = r.application + '-image';

local trigger(r) =
  local ids = [imageArtifactId(r)];
  local t = r.trigger;
  if r.previousPipeline != null then [triggers.pipeline(r.application, r.previousPipeline, ['successful'], ids)]
  else if t.type == 'docker' then [triggers.docker(t.account, r.imageParts.registry, r.imageParts.repository,
                                              r.imageParts.organization, t.tag, ids)]
  else if t.type == 'pubsub' then [triggers.pubsub(t.subscription, ids)]
  else if t.type == 'webhook' then [triggers.webhook(t.source, ids)]
  else [];

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
  if !startedByHand(r) then [] else [{
    name: 'tag',
    label: 'Image tag',
    description: 'Tag of %s to release' % r.image,
    required: true,
    default: '',
    hasOptions: false,
    options: [],
    pinned: true,
  }];

local releaseStages(r) =
  local c = conditions(r);
  local job(name, refId, manifest) = stages.runJob(name, refId, r.account, r.application, manifest);
  // Started by hand, the release needs the tag it was given: an empty one would deploy
  // `image:` (Spinnaker does not enforce `required` parameters when a run is started
  // through its API).
  local check = if !startedByHand(r) then null else
    stages.precondition(
      names.check, 'check-parameters',
      "parameters['tag'] != null and parameters['tag'] matches '%s'" % tagPattern,
      'Start %s with the parameter `tag`: the tag of %s to release (letters, digits, `_`, `.` and `-`, at most 128 characters).' % [r.pipelineName, r.image],
    );
  local deploy = stages.deployManifest(names.deploy, 'deploy', r.account, r.application, r.namespace, manifests.all(r))
                 .withRequiredArtifactIds([imageArtifactId(r)])
                 .withRequisites(if check == null then [] else [check]);
  local wait = job(names.wait, 'wait-preview', jobs.waitForPreview(r))
               .withRequisites([deploy])
               .withPropertyFile(jobs.waitContainer)
               .withContinueOnFailure();
  local test = if r.scenarioTest == null then null else
    job(names.test, 'scenario-test', jobs.scenarioTest(r))
    .withRequisites([wait])
    .withEnabledExpression(c.ready)
    .withContinueOnFailure();
  local approve = if r.manualJudgment == null then null else
    stages.manualJudgment(
      names.approve, 'approve',
      if r.manualJudgment.instructions == null
      then 'Promote %s to all traffic, or roll it back?' % r.application
      else r.manualJudgment.instructions,
      [promoteChoice, rollbackChoice],
    )
    .withRequisites([if test == null then wait else test])
    .withEnabledExpression(if test == null then c.ready else '%s and %s' % [c.ready, succeeded(names.test)])
    .withContinueOnFailure();
  local lastGate = if approve != null then approve else if test != null then test else wait;
  local promote = job(names.promote, 'promote', jobs.promote(r))
                  .withRequisites([lastGate])
                  .withEnabledExpression(c.promote)
                  .withContinueOnFailure();
  local verify = job(names.verify, 'verify', jobs.verify(r))
                 .withRequisites([promote])
                 .withEnabledExpression(succeeded(names.promote))
                 .withContinueOnFailure();
  local rollback = job(names.rollback, 'rollback',
                       jobs.rollback(r, '${%s}' % reported(jobs.outputs.stableRevision), '${%s}' % reported(jobs.outputs.stableHash)))
                   .withRequisites([verify])
                   .withEnabledExpression(c.rollback);
  local fail = stages.failPipeline(names.fail, 'fail',
                                   'The release of %s ended without a promoted and verified new version. Traffic stays on the version that ran before it; the stages above show what failed and whether a new revision was rolled back.' % r.application)
               .withRequisites([rollback])
               .withEnabledExpression(c.fail);
  [s for s in [check, deploy, wait, test, approve, promote, verify, rollback, fail] if s != null];

{
  application(r)::
    pipeline.application(r.application, r.email)
    .withRepository(r.repo.type, r.repo.project, r.repo.slug)
    .withDescription('Pipelines generated by kujira-gen from %s' % r.source),

  pipeline(r)::
    pipeline.pipeline(r.application, r.pipelineName)
    .withDescription('Blue-green release of %s to %s/%s with Argo Rollouts%s.' % [
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
    .withNotifications([notifications.slack(r.slack.channel, r.slack.events)])
    .withStages(releaseStages(r))
    .withLock('Generated by kujira-gen from %s. Change that file, not this pipeline: edits made here are overwritten.' % r.source),
}
