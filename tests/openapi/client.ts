// The TypeScript client proof: compiled by tsc (strict) against the types openapi-typescript
// generated from /api/openapi.json (./schema.d.ts beside the compiled copy), then run with node
// against a real server by crates/cli/tests/api/openapi.rs. Sign in, upload a photo, order a
// QUALITY analysis, poll it until it finishes, read the result; prints one JSON line.
import createClient from "openapi-fetch";
import { readFileSync } from "node:fs";
import type { paths } from "./schema.js";

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const base = env("FACEPROOF_BASE");

const anonymous = createClient<paths>({ baseUrl: base });
const login = await anonymous.POST("/api/authorize/auth", {
  body: { credentials: { email: env("FACEPROOF_EMAIL"), password: env("FACEPROOF_PASSWORD") } },
});
if (!login.data) throw new Error(`login: ${JSON.stringify(login.error)}`);
const token: string = login.data.access_token;

const client = createClient<paths>({ baseUrl: base, headers: { "X-Forensic-Access-Token": token } });
const me = await client.GET("/api/users/me");
if (!me.data) throw new Error(`me: ${JSON.stringify(me.error)}`);

const photo = readFileSync(env("FACEPROOF_PHOTO"));
const upload = await client.POST("/api/folders", {
  body: {
    photo1: "selfie.jpg",
    payload: JSON.stringify({ "media:tags": { photo1: ["photo_selfie"] }, "folder:meta_data": { client: "typescript" } }),
  },
  bodySerializer(body) {
    const form = new FormData();
    form.append("photo1", new Blob([photo], { type: "image/jpeg" }), body.photo1 ?? "photo.jpg");
    if (body.payload) form.append("payload", body.payload);
    return form;
  },
});
if (!upload.data) throw new Error(`upload: ${upload.response.status} ${JSON.stringify(upload.error)}`);
const folderId: string = upload.data.folder_id;
const mediaCount: number = upload.data.media.length;

const order = await client.POST("/api/folders/{folder_id}/analyses", {
  params: { path: { folder_id: folderId } },
  body: { analyses: [{ type: "quality" }] },
});
if (!order.data) throw new Error(`analyses: ${JSON.stringify(order.error)}`);
const analysisId: string = order.data[0].analysis_id;

const deadline = Date.now() + 300_000;
let analysis = (await client.GET("/api/analyses/{analysis_id}", { params: { path: { analysis_id: analysisId } } })).data;
while (analysis && analysis.state === "PROCESSING" && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 250));
  analysis = (await client.GET("/api/analyses/{analysis_id}", { params: { path: { analysis_id: analysisId } } })).data;
}
if (!analysis) throw new Error("reading the analysis failed");

const listed = await client.GET("/api/folders", {
  params: { query: { folder_id: [folderId], analysis_type: ["QUALITY"], with_analyses: true, limit: 10 } },
});
const refused = await anonymous.GET("/api/users/me");

console.log(
  JSON.stringify({
    user: me.data.email,
    folder_id: folderId,
    media: mediaCount,
    upload_status: upload.response.status,
    analysis_id: analysisId,
    state: analysis.state,
    resolution_status: analysis.resolution_status,
    results_media: analysis.results_media,
    listed: listed.data?.items.map((f) => f.folder_id) ?? [],
    refused_status: refused.response.status,
    refused_code: refused.error?.error_code ?? null,
  }),
);
