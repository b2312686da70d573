"""The Python client proof: run by crates/cli/tests/api/openapi.rs with the package that the
pinned openapi-python-client generated from /api/openapi.json on its PYTHONPATH, against a real
server. Sign in, upload a photo, order a QUALITY analysis, poll it until it finishes, read the
result; prints one JSON line."""

import json
import os
import time
from io import BytesIO

from faceproof_client import AuthenticatedClient, Client
from faceproof_client.api.authorization import log_in
from faceproof_client.api.analyses import get_analysis, start_analyses
from faceproof_client.api.folders import create_folder_with_media, list_folders
from faceproof_client.api.users import the_caller
from faceproof_client.models import (
    AnalysisOrder,
    AnalysisStateDoc,
    Credentials,
    ErrorBody,
    FolderUpload,
    LoginRequest,
    StartAnalyses,
)
from faceproof_client.types import File

base = os.environ["FACEPROOF_BASE"]
anonymous = Client(base_url=base, raise_on_unexpected_status=True)
tokens = log_in.sync(
    client=anonymous,
    body=LoginRequest(
        credentials=Credentials(
            email=os.environ["FACEPROOF_EMAIL"], password=os.environ["FACEPROOF_PASSWORD"]
        )
    ),
)
assert not isinstance(tokens, ErrorBody), tokens
client = AuthenticatedClient(
    base_url=base,
    token=tokens.access_token,
    prefix="",
    auth_header_name="X-Forensic-Access-Token",
    raise_on_unexpected_status=True,
    timeout=120,
)
me = the_caller.sync(client=client)

with open(os.environ["FACEPROOF_PHOTO"], "rb") as f:
    photo = f.read()
upload = create_folder_with_media.sync_detailed(
    client=client,
    body=FolderUpload(
        photo1=File(payload=BytesIO(photo), file_name="selfie.jpg", mime_type="image/jpeg"),
        payload=json.dumps(
            {"media:tags": {"photo1": ["photo_selfie"]}, "folder:meta_data": {"client": "python"}}
        ),
    ),
)
folder = upload.parsed
assert not isinstance(folder, ErrorBody), folder

order = start_analyses.sync(
    folder_id=folder.folder_id,
    client=client,
    body=StartAnalyses(analyses=[AnalysisOrder(type_="quality")]),
)
assert isinstance(order, list), order
analysis_id = order[0].analysis_id

deadline = time.time() + 300
analysis = get_analysis.sync(analysis_id=analysis_id, client=client)
while analysis.state == AnalysisStateDoc.PROCESSING and time.time() < deadline:
    time.sleep(0.25)
    analysis = get_analysis.sync(analysis_id=analysis_id, client=client)

listed = list_folders.sync(client=client, folder_id=[folder.folder_id], with_analyses=True, limit=10)
refused = the_caller.sync_detailed(client=Client(base_url=base))

print(
    json.dumps(
        {
            "user": me.email,
            "folder_id": str(folder.folder_id),
            "media": len(folder.media),
            "upload_status": int(upload.status_code),
            "analysis_id": str(analysis_id),
            "state": analysis.state.value,
            "resolution_status": analysis.resolution_status.value,
            "results_media": [r.to_dict() for r in analysis.results_media],
            "listed": [str(f.folder_id) for f in listed.items],
            "refused_status": int(refused.status_code),
            "refused_code": refused.parsed.error_code if isinstance(refused.parsed, ErrorBody) else None,
        }
    )
)
