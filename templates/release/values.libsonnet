// A team's value file with every default applied, in the names the release templates use.
// The defaults here are the `default`s documented in schemas/value.schema.json (a test
// checks that they agree).
local config = import '../config.libsonnet';
local slo = import 'slo.libsonnet';
local sloRules = import 'slo_rules.libsonnet';

local get(o, k, default) = if std.objectHas(o, k) then o[k] else default;

// `gcr.io/proj/app` -> registry gcr.io, repository proj/app, organization proj.
// Images without a registry host are on Docker Hub (`nginx` is `library/nginx`).
//
// `name` is the image as Spinnaker names it, which the expected artifact must match and
// the pod template must carry: a docker trigger's artifact is named `<registry>/<repository>`
// (echo-model AbstractOCIRegistryEvent `getName`), the registry being the Docker registry
// account's address without its scheme (clouddriver-docker
// DockerRegistryNamedAccountCredentials): Docker Hub's account address is
// https://index.docker.io, so `org/app`, `docker.io/org/app` and `app` are named
// `index.docker.io/org/app` and `index.docker.io/library/app`.
//
// `binding`: the installation's `kubernetes.artifact-binding.docker-image` (Clouddriver
// KubernetesHandler, Replacer `replaceIfPossible`). `match-name-and-tag` (the default)
// binds into a container whose image, read without its tag (the part before the last `:`),
// equals the artifact's name; `match-name-only` binds only where the image equals the
// name exactly. A plain name binds in both; `host:5000/app` reads as `host` in the first
// mode, so there it gets a placeholder tag (upstream/artifact_replacer.rs).
local dockerHubHosts = ['docker.io', 'index.docker.io'];
local parseImage(image, binding) =
  local parts = std.split(image, '/');
  local first = parts[0];
  local hasHost = std.length(parts) > 1
                  && (std.length(std.findSubstr('.', first)) > 0
                      || std.length(std.findSubstr(':', first)) > 0
                      || first == 'localhost');
  local dockerHub = !hasHost || std.member(dockerHubHosts, first);
  local rest = if hasHost then parts[1:] else parts;
  local path = if dockerHub && std.length(rest) == 1 then ['library'] + rest else rest;
  local registry = if dockerHub then 'index.docker.io' else first;
  local name = registry + '/' + std.join('/', path);
  {
    name: name,
    inManifest: if binding == 'match-name-and-tag' && std.length(std.findSubstr(':', registry)) > 0
    then name + ':from-trigger' else name,
    registry: registry,
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
    artifactBinding: get(values, 'ArtifactBinding', 'match-name-and-tag'),
    // The service account the triggers run as (Fiat), or null: no `runAsUser`.
    runAsUser: get(values, 'RunAsUser', null),
    // The image as Spinnaker names it (parseImage): Docker Hub names are normalised.
    image: self.imageParts.name,
    imageParts: parseImage(values.Image, self.artifactBinding),
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
