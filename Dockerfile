# syntax=docker/dockerfile:1
# FactorHub hub image: one image for ingress, worker, migrate and the simulators.
#   docker build -t factorhub/hub:0.1.0 .
ARG PYTHON_IMAGE=python:3.11-slim

# ---- builder: install the project and its dependencies into /opt/venv -------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies first, read from pyproject.toml, so source edits do not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --upgrade pip \
    && pip install -r /tmp/requirements.txt

# Then the project itself (a regular, non-editable install; package data comes with it).
COPY README.md ./
COPY canonical ./canonical
COPY mappings ./mappings
COPY connectors ./connectors
COPY routes ./routes
COPY hub ./hub
COPY observability ./observability
COPY simulators ./simulators
RUN pip install --no-deps . \
    && factorhub --help >/dev/null

# ---- runtime: the venv only, as a non-root user -----------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="factorhub" \
      org.opencontainers.image.description="Asynchronous integration hub for Chinese factoring"

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN groupadd --system --gid 10001 factorhub \
    && useradd --system --uid 10001 --gid factorhub --home-dir /var/lib/factorhub \
        --shell /usr/sbin/nologin factorhub \
    && install -d -o factorhub -g factorhub -m 0750 /var/lib/factorhub

COPY --from=builder /opt/venv /opt/venv

WORKDIR /var/lib/factorhub
USER factorhub:factorhub

EXPOSE 8080
ENTRYPOINT ["factorhub"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
