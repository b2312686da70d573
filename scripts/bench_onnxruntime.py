"""Time each model in Python's onnxruntime: the baseline `faceproof bench` compares against.

Called by `faceproof bench` with one JSON argument: {"iterations": N, "models": {role: {path, shape}}}.
Prints {role: milliseconds per run}. One intra-op thread, batch 1, random inputs of the model's shape.
"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort

config = json.loads(sys.argv[1])
options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
result = {}
for role, model in config["models"].items():
    session = ort.InferenceSession(model["path"], options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    x = np.random.default_rng(0).standard_normal(model["shape"]).astype(np.float32)
    session.run(None, {name: x})
    start = time.perf_counter()
    for _ in range(config["iterations"]):
        session.run(None, {name: x})
    result[role] = round((time.perf_counter() - start) * 1000 / config["iterations"], 2)
print(json.dumps(result))
