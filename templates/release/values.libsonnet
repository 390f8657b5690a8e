// A team's value file with every default applied, in the names the release templates use.
// The defaults here are the `default`s documented in schemas/value.schema.json (a test
// checks that they agree).
local config = import '../config.libsonnet';
local slo = import 'slo.libsonnet';
local sloRules = import 'slo_rules.libsonnet';

local get(o, k, default) = if std.objectHas(o, k) then o[k] else default;

// `gcr.io/proj/app` -> registry gcr.io, repository proj/app, organization proj.
// Images without a registry host are on Docker Hub (`nginx` is `library/nginx`).
local parseImage(image) =
  local parts = std.split(image, '/');
  local first = parts[0];
  local hasHost = std.length(parts) > 1
                  && (std.length(std.findSubstr('.', first)) > 0
                      || std.length(std.findSubstr(':', first)) > 0
                      || first == 'localhost');
  local path = if hasHost then parts[1:] else if std.length(parts) == 1 then ['library'] + parts else parts;
  {
    // Clouddriver binds the trigger's image into a container whose image has the same
    // name, reading the name as the reference without its tag: the part before the last
    // `:`. `host:5000/app` would read as `host`, so such an image gets a placeholder tag
    // that the binding replaces (upstream/artifact_replacer.rs; docs/spinnaker-rules.md).
    inManifest: if std.length(std.findSubstr(':', first)) > 0 && hasHost then image + ':from-trigger' else image,
    registry: if hasHost then first else 'index.docker.io',
    repository: std.join('/', path),
    organization: std.join('/', path[:std.length(path) - 1]),
  };

local allEvents = ['starting', 'complete', 'failed'];

function(values)
  local app = values.Application;
  local namespace = get(values, 'Namespace', app);
  local notification = values.Notification;
  local trigger = get(values, 'Trigger', {});
  local test = get(values, 'ScenarioTest', null);
  local judgment = get(values, 'ManualJudgment', false);
  local files = get(get(values, '_kujira', {}), 'files', {});
  local resources = get(values, 'Resources', {});
  local memory = get(resources, 'Memory', '128Mi');
  {
    application: app,
    email: values.Email,
    source: get(get(values, '_kujira', {}), 'source', 'value.json'),
    repo: {
      type: get(values, 'Repo', 'github'),
      project: get(values, 'RepoProject', null),
      slug: get(values, 'RepoSlug', app),
    },
    slack: {
      channel: std.lstripChars(if std.isString(notification) then notification else notification.Channel, '#'),
      events: if std.isString(notification) then allEvents else get(notification, 'When', allEvents),
    },
    account: values.Account,
    namespace: namespace,
    image: values.Image,
    imageParts: parseImage(values.Image),
    trigger: {
      type: get(trigger, 'Type', 'docker'),
      account: get(trigger, 'Account', config.dockerRegistryAccount),
      tag: get(trigger, 'Tag', null),
      subscription: get(trigger, 'Subscription', null),
      source: get(trigger, 'Source', app),
    },
    port: get(values, 'Port', 8080),
    healthCheckPath: get(values, 'HealthCheckPath', '/'),
    replicas: get(values, 'Replicas', 2),
    resources: {
      requests: { cpu: get(resources, 'Cpu', '100m'), memory: memory },
      limits: { memory: get(resources, 'MemoryLimit', memory) }
              + (if std.objectHas(resources, 'CpuLimit') then { cpu: resources.CpuLimit } else {}),
    },
    env: get(values, 'Env', {}),
    scenarioTest: if test == null then null else {
      collection: files[test.Collection],
      environment: if std.objectHas(test, 'Environment') then files[test.Environment] else null,
      image: get(test, 'Image', config.images.newman),
      timeoutSeconds: get(test, 'TimeoutSeconds', 600),
    },
    manualJudgment: if judgment == false then null else {
      instructions: if std.isObject(judgment) then get(judgment, 'Instructions', null) else null,
    },
    scaleDownDelaySeconds: get(values, 'ScaleDownDelaySeconds', 30),
    autoPromotion: get(values, 'AutoPromotion', false),
    // SLOs (null without) against the platform's settings (.kujira/slo.json, given as
    // `_kujira.slo`), and the canary strategy (null: blue-green). docs/slo.md.
    slo: slo.normalize(get(values, 'SLO', null), { application: app, namespace: namespace },
                       slo.platform(get(get(values, '_kujira', {}), 'slo', null))),
    canary: slo.normalizeCanary(get(values, 'Canary', null)),
    // The platform's rule settings (slo_rules.libsonnet), for teams with SLOs only: a team
    // without them is not concerned by the platform's alert table.
    sloRules: if get(values, 'SLO', null) == null then null
    else sloRules.settings(slo.platform(get(get(values, '_kujira', {}), 'slo', null))),
  }
