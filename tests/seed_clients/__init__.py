"""The seeds' own clients, as the seeds write them: node/ (JavaScript and TypeScript, run with node and tsx),
python/ (imported by the bridge's tests). Never edited: they are what users already run."""
