// The blue-green release: what runs, in which order, and when each step is skipped.
//
//   Deploy -> Wait for preview -> [Scenario test] -> [Approve promotion] -+-> Promote -> Verify
//                                                                         +-> Roll back -> Fail release
//
// Steps that may fail without failing the pipeline (wait, test, approval) "continue on
// failure", so that the stages after them can choose between promotion and rollback.
local pipeline = import '../lib/pipeline.libsonnet';
local stages = import '../lib/stages.libsonnet';
local triggers = import '../lib/triggers.libsonnet';
local artifacts = import '../lib/artifacts.libsonnet';
local notifications = import '../lib/notifications.libsonnet';
local config = import '../config.libsonnet';
local manifests = import 'manifests.libsonnet';
local jobs = import 'jobs.libsonnet';

local names = {
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

local succeeded(stage) = "#stage('%s')['status'].toString() == 'SUCCEEDED'" % stage;

// SpEL conditions (without `${}`) over the stages that ran before.
local conditions(r) = {
  previewReady: succeeded(names.wait),
  newRevision: '%s and #stage(\'%s\')[\'outputs\'][\'NEW_REVISION\'] == \'true\'' % [self.previewReady, names.wait],
  gates: std.join(' and ',
    (if r.scenarioTest == null then [] else [succeeded(names.test)])
    + (if r.manualJudgment == null then [] else [
      succeeded(names.approve),
      "#judgment('%s') == '%s'" % [names.approve, promoteChoice],
    ])),
  promote: if self.gates == '' then self.newRevision else '%s and %s' % [self.newRevision, self.gates],
  rollback: if self.gates == '' then '!(%s)' % self.previewReady
            else '!(%s) or (%s and !(%s))' % [self.previewReady, self.newRevision, self.gates],
};

local imageArtifactId(r) = r.application + '-image';

local trigger(r) =
  local ids = [imageArtifactId(r)];
  local t = r.trigger;
  if t.type == 'docker' then [triggers.docker(t.account, r.imageParts.registry, r.imageParts.repository,
                                              r.imageParts.organization, t.tag, ids)]
  else if t.type == 'pubsub' then [triggers.pubsub(t.subscription, ids)]
  else if t.type == 'webhook' then [triggers.webhook(t.source, ids)]
  else [];

local expectedArtifact(r) =
  local a = artifacts.dockerImage(imageArtifactId(r), r.image);
  if r.trigger.type == 'manual'
  // Started by hand: the tag is a parameter, resolved when the run starts.
  then a.withDefaultReference(r.image + ":${trigger['parameters']['tag']}")
  else a;

local parameters(r) =
  if r.trigger.type != 'manual' then [] else [{
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
  local deploy = stages.deployManifest(names.deploy, 'deploy', r.account, r.application, r.namespace, manifests.all(r))
                 .withRequiredArtifactIds([imageArtifactId(r)]);
  local job(name, refId, manifest) = stages.runJob(name, refId, r.account, r.application, manifest);
  if r.autoPromotion then
    // Argo Rollouts switches by itself once the preview is ready: only wait for Healthy.
    [deploy, job(names.verify, 'verify', jobs.verify(r)).withRequisites([deploy])]
  else
    local wait = job(names.wait, 'wait-preview', jobs.waitForPreview(r))
                 .withRequisites([deploy])
                 .withPropertyFile('wait')
                 .withContinueOnFailure();
    local test = if r.scenarioTest == null then null else
      job(names.test, 'scenario-test', jobs.scenarioTest(r))
      .withRequisites([wait])
      .withEnabledExpression(c.newRevision)
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
      .withEnabledExpression(if test == null then c.newRevision else '%s and %s' % [c.newRevision, succeeded(names.test)])
      .withContinueOnFailure();
    local lastGate = if approve != null then approve else if test != null then test else wait;
    local promote = job(names.promote, 'promote', jobs.promote(r)).withRequisites([lastGate]).withEnabledExpression(c.promote);
    local verify = job(names.verify, 'verify', jobs.verify(r)).withRequisites([promote]).withEnabledExpression(c.promote);
    local rollback = job(names.rollback, 'rollback', jobs.rollback(r)).withRequisites([lastGate]).withEnabledExpression(c.rollback);
    local fail = stages.failPipeline(names.fail, 'fail',
                                     'The new version of %s was rolled back; traffic stays on the previous version.' % r.application)
                 .withRequisites([rollback])
                 .withEnabledExpression(c.rollback);
    [s for s in [deploy, wait, test, approve, promote, verify, rollback, fail] if s != null];

{
  application(r)::
    pipeline.application(r.application, r.email)
    .withRepository(r.repo.type, r.repo.project, r.repo.slug)
    .withDescription('Pipelines generated by kujira-gen from %s' % r.source),

  pipeline(r)::
    pipeline.pipeline(r.application, config.pipelineName)
    .withDescription('Blue-green release of %s to %s/%s with Argo Rollouts.' % [r.application, r.account, r.namespace])
    .withTriggers(trigger(r))
    .withParameters(parameters(r))
    .withExpectedArtifacts([expectedArtifact(r)])
    .withNotifications([notifications.slack(r.slack.channel, r.slack.events)])
    .withStages(releaseStages(r))
    .withLock('Generated by kujira-gen from %s. Change that file, not this pipeline: edits made here are overwritten.' % r.source),
}
