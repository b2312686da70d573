//! Install-time rewrite of weight-quantized ONNX models into plain float models.
//!
//! OpenCV Zoo's `*_int8bq.onnx` files store each weight as int8 with per-block scales and zero
//! points, expanded at run time by `DequantizeLinear` (opset 21, `block_size` attribute). tract
//! cannot run blocked dequantization, and ONNX Runtime refuses these files because they still list
//! the original float weights as graph inputs that no node reads. Since every such
//! `DequantizeLinear` reads only initializers, its result is a constant: [`dequantize_weights`]
//! computes it once (`(q - zero_point) · scale`, exactly the operator's definition), stores it as a
//! float initializer under the node's output name, removes the node and the quantized tensors,
//! and drops graph inputs that are initializers or feed no node. The network computes the same
//! function; only where the arithmetic happens changes.

use std::collections::{HashMap, HashSet};

use prost::Message;
use tract_onnx::pb::{ModelProto, NodeProto, TensorProto};

use crate::error::{EngineError, Result};

const FLOAT: i32 = 1;
const UINT8: i32 = 2;
const INT8: i32 = 3;
const INT32: i32 = 6;

/// What [`dequantize_weights`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dequantized {
    /// `DequantizeLinear` nodes folded into float initializers.
    pub nodes: usize,
    /// Graph inputs removed (initializers listed as inputs, or inputs no node reads).
    pub inputs_dropped: usize,
}

fn bad(what: impl std::fmt::Display) -> EngineError {
    EngineError::ModelPack(format!("cannot dequantize: {what}"))
}

/// The integer values of a quantized tensor (int8, uint8 or int32), from `raw_data` or the typed field.
fn integers(t: &TensorProto) -> Result<Vec<i32>> {
    match t.data_type {
        INT8 if !t.raw_data.is_empty() => Ok(t.raw_data.iter().map(|&b| b as i8 as i32).collect()),
        UINT8 if !t.raw_data.is_empty() => Ok(t.raw_data.iter().map(|&b| b as i32).collect()),
        INT32 if !t.raw_data.is_empty() => Ok(t
            .raw_data
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()),
        INT8 | UINT8 | INT32 => Ok(t.int32_data.clone()),
        other => Err(bad(format!(
            "{}: element type {other} is not int8/uint8/int32",
            t.name
        ))),
    }
}

fn floats(t: &TensorProto) -> Result<Vec<f32>> {
    if t.data_type != FLOAT {
        return Err(bad(format!("{}: scale is not float", t.name)));
    }
    if t.raw_data.is_empty() {
        Ok(t.float_data.clone())
    } else {
        Ok(t.raw_data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
}

fn int_attr(node: &NodeProto, name: &str, default: i64) -> i64 {
    node.attribute
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.i)
        .unwrap_or(default)
}

/// `DequantizeLinear` of constant tensors: per-tensor (scalar scale), per-axis (1-D scale along
/// `axis`) or blocked (scale of the input's rank, `block_size` elements of `axis` per scale).
fn dequantize(
    node: &NodeProto,
    x: &TensorProto,
    scale: &TensorProto,
    zero: Option<&TensorProto>,
) -> Result<TensorProto> {
    let dims: Vec<usize> = x.dims.iter().map(|&d| d as usize).collect();
    let values = integers(x)?;
    let count: usize = dims.iter().product();
    if values.len() != count {
        return Err(bad(format!(
            "{}: {} values for shape {dims:?}",
            x.name,
            values.len()
        )));
    }
    let scales = floats(scale)?;
    let zeros = match zero {
        Some(z) => integers(z)?,
        None => vec![0; scales.len()],
    };
    if zeros.len() != scales.len() {
        return Err(bad(format!(
            "{}: {} zero points for {} scales",
            x.name,
            zeros.len(),
            scales.len()
        )));
    }
    let rank = dims.len() as i64;
    let axis = int_attr(node, "axis", 1);
    let axis = if axis < 0 { axis + rank } else { axis };
    let block = int_attr(node, "block_size", 0).max(0) as usize;
    // Strides of x, and for each element the index of its scale.
    let mut strides = vec![1usize; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * dims[i + 1];
    }
    let scale_index: Box<dyn Fn(usize) -> usize> = if scales.len() == 1 {
        Box::new(|_| 0)
    } else {
        if !(0..rank).contains(&axis) {
            return Err(bad(format!("{}: axis {axis} out of range", x.name)));
        }
        let axis = axis as usize;
        if block == 0 {
            if scales.len() != dims[axis] {
                return Err(bad(format!(
                    "{}: {} scales along an axis of {}",
                    x.name,
                    scales.len(),
                    dims[axis]
                )));
            }
            let stride = strides[axis];
            let n = dims[axis];
            Box::new(move |i| (i / stride) % n)
        } else {
            let sdims: Vec<usize> = scale.dims.iter().map(|&d| d as usize).collect();
            let expected: Vec<usize> = dims
                .iter()
                .enumerate()
                .map(|(k, &d)| if k == axis { d.div_ceil(block) } else { d })
                .collect();
            if sdims != expected {
                return Err(bad(format!(
                    "{}: scale shape {sdims:?}, expected {expected:?}",
                    x.name
                )));
            }
            let mut sstrides = vec![1usize; sdims.len()];
            for i in (0..sdims.len().saturating_sub(1)).rev() {
                sstrides[i] = sstrides[i + 1] * sdims[i + 1];
            }
            let dims = dims.clone();
            Box::new(move |i| {
                let mut rest = i;
                let mut at = 0;
                for k in 0..dims.len() {
                    let c = rest / strides[k];
                    rest %= strides[k];
                    let c = if k == axis { c / block } else { c };
                    at += c * sstrides[k];
                }
                at
            })
        }
    };
    let mut raw = Vec::with_capacity(count * 4);
    for (i, &q) in values.iter().enumerate() {
        let s = scale_index(i);
        let v = (q - zeros[s]) as f32 * scales[s];
        raw.extend_from_slice(&v.to_le_bytes());
    }
    Ok(TensorProto {
        dims: x.dims.clone(),
        data_type: FLOAT,
        name: node.output[0].clone(),
        raw_data: raw,
        ..Default::default()
    })
}

/// Fold every `DequantizeLinear` whose inputs are all initializers into a float initializer, then
/// drop the quantized tensors no node reads any more and the stale graph inputs. Returns the
/// re-encoded model and what changed.
pub fn dequantize_weights(onnx: &[u8]) -> Result<(Vec<u8>, Dequantized)> {
    let mut model = ModelProto::decode(onnx)
        .map_err(|e| EngineError::ModelPack(format!("not an ONNX model: {e}")))?;
    let graph = model
        .graph
        .as_mut()
        .ok_or_else(|| bad("the model has no graph"))?;
    let mut report = Dequantized::default();
    let by_name: HashMap<String, usize> = graph
        .initializer
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.clone(), i))
        .collect();
    let mut folded = Vec::new();
    let mut consumed: HashSet<String> = HashSet::new();
    let mut kept = Vec::with_capacity(graph.node.len());
    for node in std::mem::take(&mut graph.node) {
        let constant = node.op_type == "DequantizeLinear"
            && node.domain.is_empty()
            && node.output.len() == 1
            && node
                .input
                .iter()
                .all(|i| i.is_empty() || by_name.contains_key(i));
        if !constant {
            kept.push(node);
            continue;
        }
        let get = |k: usize| {
            node.input
                .get(k)
                .filter(|n| !n.is_empty())
                .map(|n| &graph.initializer[by_name[n]])
        };
        let x = get(0).ok_or_else(|| bad("DequantizeLinear without input"))?;
        let scale = get(1).ok_or_else(|| bad("DequantizeLinear without scale"))?;
        folded.push(dequantize(&node, x, scale, get(2))?);
        consumed.extend(node.input.iter().filter(|n| !n.is_empty()).cloned());
        report.nodes += 1;
    }
    graph.node = kept;
    let read: HashSet<&str> = graph
        .node
        .iter()
        .flat_map(|n| n.input.iter().map(String::as_str))
        .chain(graph.output.iter().map(|o| o.name.as_str()))
        .collect();
    // Quantized tensors that only fed folded nodes go; every other initializer stays.
    let unused: HashSet<String> = consumed
        .into_iter()
        .filter(|n| !read.contains(n.as_str()))
        .collect();
    graph.initializer.retain(|t| !unused.contains(&t.name));
    graph.initializer.extend(folded);
    let initializers: HashSet<String> = graph.initializer.iter().map(|t| t.name.clone()).collect();
    let read: HashSet<String> = read.into_iter().map(str::to_string).collect();
    let before = graph.input.len();
    graph
        .input
        .retain(|i| !initializers.contains(&i.name) && read.contains(&i.name));
    report.inputs_dropped = before - graph.input.len();
    if graph.input.is_empty() {
        return Err(bad("no graph input is left"));
    }
    Ok((model.encode_to_vec(), report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::{AttributeProto, GraphProto, ValueInfoProto};

    fn tensor(name: &str, dims: &[i64], data_type: i32, raw: Vec<u8>) -> TensorProto {
        TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type,
            raw_data: raw,
            ..Default::default()
        }
    }

    fn attr(name: &str, i: i64) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            i,
            r#type: 2,
            ..Default::default()
        }
    }

    fn f32s(t: &TensorProto) -> Vec<f32> {
        floats(t).unwrap()
    }

    #[test]
    fn blocked_dequantization_matches_the_operator_definition() {
        // x: 2×5 int8, blocks of 2 along axis 1 → scales 2×3.
        let q: Vec<i8> = vec![1, -2, 3, 4, -5, 6, 7, -8, 9, 10];
        let scales = [0.5f32, 2.0, 0.25, 1.0, -1.0, 4.0];
        let zeros: Vec<i8> = vec![0, 1, -1, 2, 0, 3];
        let node = NodeProto {
            op_type: "DequantizeLinear".into(),
            input: vec!["q".into(), "s".into(), "z".into()],
            output: vec!["w".into()],
            attribute: vec![attr("axis", 1), attr("block_size", 2)],
            ..Default::default()
        };
        let x = tensor("q", &[2, 5], INT8, q.iter().map(|&v| v as u8).collect());
        let s = tensor(
            "s",
            &[2, 3],
            FLOAT,
            scales.iter().flat_map(|v| v.to_le_bytes()).collect(),
        );
        let z = tensor("z", &[2, 3], INT8, zeros.iter().map(|&v| v as u8).collect());
        let out = dequantize(&node, &x, &s, Some(&z)).unwrap();
        let expected: Vec<f32> = (0..10)
            .map(|i| {
                let (r, c) = (i / 5, i % 5);
                let b = r * 3 + c / 2;
                (q[i] as i32 - zeros[b] as i32) as f32 * scales[b]
            })
            .collect();
        assert_eq!(f32s(&out), expected);
        assert_eq!(out.name, "w");
        assert_eq!(out.dims, vec![2, 5]);
    }

    #[test]
    fn per_axis_and_per_tensor_scales() {
        let node = |axis| NodeProto {
            op_type: "DequantizeLinear".into(),
            input: vec!["q".into(), "s".into()],
            output: vec!["w".into()],
            attribute: vec![attr("axis", axis)],
            ..Default::default()
        };
        let x = tensor("q", &[2, 3], INT8, vec![1, 2, 3, 4, 5, 6]);
        let s = tensor(
            "s",
            &[2],
            FLOAT,
            [1.0f32, 10.0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        );
        let out = dequantize(&node(0), &x, &s, None).unwrap();
        assert_eq!(f32s(&out), vec![1.0, 2.0, 3.0, 40.0, 50.0, 60.0]);
        let s1 = tensor("s", &[], FLOAT, 0.5f32.to_le_bytes().to_vec());
        let out = dequantize(&node(1), &x, &s1, None).unwrap();
        assert_eq!(f32s(&out), vec![0.5, 1.0, 1.5, 2.0, 2.5, 3.0]);
        // A scale that fits no layout is refused, not guessed.
        let s3 = tensor("s", &[4], FLOAT, vec![0; 16]);
        assert!(dequantize(&node(1), &x, &s3, None).is_err());
    }

    #[test]
    fn folds_constant_nodes_and_drops_stale_inputs() {
        let value = |name: &str| ValueInfoProto {
            name: name.into(),
            ..Default::default()
        };
        let graph = GraphProto {
            node: vec![
                NodeProto {
                    op_type: "DequantizeLinear".into(),
                    input: vec!["q".into(), "s".into()],
                    output: vec!["w".into()],
                    ..Default::default()
                },
                NodeProto {
                    op_type: "Mul".into(),
                    input: vec!["data".into(), "w".into()],
                    output: vec!["y".into()],
                    ..Default::default()
                },
            ],
            initializer: vec![
                tensor("q", &[2], INT8, vec![3, 0xfe]),
                tensor("s", &[], FLOAT, 2.0f32.to_le_bytes().to_vec()),
            ],
            // `data` is real; `q` is an initializer listed as input; `old_w` feeds nothing.
            input: vec![value("data"), value("q"), value("old_w")],
            output: vec![value("y")],
            ..Default::default()
        };
        let model = ModelProto {
            graph: Some(graph),
            ..Default::default()
        };
        let (bytes, report) = dequantize_weights(&model.encode_to_vec()).unwrap();
        assert_eq!(
            report,
            Dequantized {
                nodes: 1,
                inputs_dropped: 2
            }
        );
        let g = ModelProto::decode(bytes.as_slice()).unwrap().graph.unwrap();
        assert_eq!(g.node.len(), 1);
        assert_eq!(
            g.input.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
            ["data"]
        );
        let names: Vec<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["w"]);
        assert_eq!(f32s(&g.initializer[0]), vec![6.0, -4.0]);
    }
}
