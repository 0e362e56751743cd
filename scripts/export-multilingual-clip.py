#!/usr/bin/env python3
"""Export sentence-transformers/clip-ViT-B-32-multilingual-v1 as ONE ONNX graph for CLIP_TEXT_MODEL_DIR.

What adcreative expects in the directory (src/clip/multilingual.ts):

  config.json              the transformer's config; `_name_or_path` is set to the model's name
                           and `projection_dim` to 512 (the library records the name)
  tokenizer.json           BERT WordPiece (cased, CJK split, `##`), from the repository
  tokenizer_config.json    do_lower_case false, model_max_length 128
  vocab.txt                (optional) the same vocabulary, one token a line
  onnx/text_model.onnx     inputs  input_ids       int64 [batch, sequence]
                                   attention_mask  int64 [batch, sequence]
                           output  text_embeds     float32 [batch, 512]
                           = mean of the DistilBERT token states over the attention mask, then the
                             Dense layer 768 -> 512 (no bias, identity activation), NOT normalised
                             (adcreative L2-normalises every embedding)

Sequences are cut to 128 tokens by the tokenizer ([CLS] + 126 + [SEP]), as sentence-transformers
does (max_seq_length 128). `models fetch clip-ViT-B-32-multilingual-v1` downloads the repository's
own layout instead (onnx/model.onnx + 2_Dense), which adcreative also reads; this export is for
hosts that want one graph (e.g. to quantize or convert it whole).

Requirements (on a machine with network access):
    pip install "sentence-transformers>=2.7" "torch>=2.1" "onnx>=1.15" onnxruntime

Usage:
    python scripts/export-multilingual-clip.py --out models/clip-ViT-B-32-multilingual-v1-onnx
    CLIP_TEXT_MODEL_DIR=models/clip-ViT-B-32-multilingual-v1-onnx npm run -s adcreative -- library reembed

The script checks the export against sentence-transformers' own encode() on a few briefs in
several languages (cosine > 0.9999) before it reports success.
"""

import argparse
import json
import os
import sys

MODEL = "sentence-transformers/clip-ViT-B-32-multilingual-v1"
CHECK = [
    "Summer sale on running shoes",
    "夏季跑鞋大促销",
    "Sommerschlussverkauf: Laufschuhe für die ganze Familie",
    "Rebajas de verano en zapatillas para correr",
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="model directory to write")
    ap.add_argument("--model", default=MODEL, help="sentence-transformers model name or path")
    ap.add_argument("--opset", type=int, default=17)
    args = ap.parse_args()

    import numpy as np
    import onnxruntime as ort
    import torch
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(args.model, device="cpu")
    st.eval()
    transformer, pooling, dense = st[0], st[1], st[2]
    if not pooling.pooling_mode_mean_tokens:
        print("expected mean pooling", file=sys.stderr)
        return 1
    bert = transformer.auto_model
    tok = transformer.tokenizer

    class TextModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert
            self.dense = dense.linear  # Linear(768, 512, bias=False); activation is Identity

        def forward(self, input_ids, attention_mask):
            states = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(states.dtype)
            mean = (states * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return self.dense(mean)

    model = TextModel().eval()
    os.makedirs(os.path.join(args.out, "onnx"), exist_ok=True)
    sample = tok(CHECK, padding=True, truncation=True, max_length=128, return_tensors="pt")
    path = os.path.join(args.out, "onnx", "text_model.onnx")
    with torch.no_grad():
        torch.onnx.export(
            model,
            (sample["input_ids"], sample["attention_mask"]),
            path,
            input_names=["input_ids", "attention_mask"],
            output_names=["text_embeds"],
            dynamic_axes={
                "input_ids": {0: "batch_size", 1: "sequence_length"},
                "attention_mask": {0: "batch_size", 1: "sequence_length"},
                "text_embeds": {0: "batch_size"},
            },
            opset_version=args.opset,
        )

    # Tokenizer files (tokenizer.json, vocab.txt, special_tokens_map.json) and a config that names the model and its width.
    tok.save_pretrained(args.out)
    cfg = bert.config.to_dict()
    cfg["_name_or_path"] = MODEL if args.model == MODEL else args.model
    cfg["projection_dim"] = dense.linear.out_features
    cfg["adcreative_note"] = "one-graph export by scripts/export-multilingual-clip.py (mean pooling + Dense inside)"
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    tc_path = os.path.join(args.out, "tokenizer_config.json")
    with open(tc_path) as f:
        tc = json.load(f)
    tc["model_max_length"] = 128
    with open(tc_path, "w") as f:
        json.dump(tc, f, indent=2)
    # The export must give sentence-transformers' embeddings.
    want = st.encode(CHECK, normalize_embeddings=True)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    enc = tok(CHECK, padding=True, truncation=True, max_length=128, return_tensors="np")
    got = sess.run(["text_embeds"], {"input_ids": enc["input_ids"].astype(np.int64), "attention_mask": enc["attention_mask"].astype(np.int64)})[0]
    got = got / np.linalg.norm(got, axis=1, keepdims=True)
    cos = (got * want).sum(1)
    for text, c in zip(CHECK, cos):
        print(f"cosine {c:.6f}  {text}")
    if (cos < 0.9999).any():
        print("the export does not match sentence-transformers' encode()", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: set CLIP_TEXT_MODEL_DIR={args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
