# kujira-gen in a container, for CI systems (Cloud Build steps, GitLab CI jobs) and the
# `kujira-gen-validate-docker` pre-commit hook.
#
#   docker build -t kujira-gen --build-arg KUJIRA_GEN_COMMIT=$(git rev-parse --short=12 HEAD) .
#   docker run --rm -v "$PWD:/src" -w /src kujira-gen validate teams/
#
# Stage 1 builds with the same command the README documents for installing; stage 2 keeps
# only the binary, git (for `impact --old REV:DIR`) and a shell (CI jobs run scripts).

FROM rust:1.95-slim-bookworm AS build
WORKDIR /usr/src/kujira-gen
# .git is not copied (see .dockerignore): the commit for --version comes from here.
ARG KUJIRA_GEN_COMMIT=
ENV KUJIRA_GEN_COMMIT=${KUJIRA_GEN_COMMIT} CARGO_INCREMENTAL=0
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo install --locked --path . --root /out

FROM debian:bookworm-slim
# The repository is mounted from the host and owned by another user than the container's
# root: git refuses it ("detected dubious ownership", CVE-2022-24765) unless it is a safe
# directory. The image only ever reads repositories it is given.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && git config --system --add safe.directory '*'
COPY --from=build /out/bin/kujira-gen /usr/local/bin/kujira-gen
# pre-commit's docker hooks mount the repository at /src.
WORKDIR /src
ENTRYPOINT ["kujira-gen"]
CMD ["--help"]
