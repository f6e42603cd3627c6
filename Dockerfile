FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY distribute ./distribute
COPY templates ./templates
COPY samples ./samples
COPY worker.py ./
RUN pip install --no-cache-dir .
USER nobody
CMD ["distribute", "--help"]
