"""Runs inside a Label Studio virtual environment (it needs label-studio-sdk): logs in as an annotator would,
creates a project with the generated config, imports the suggested tasks, annotates each one (accepting the
model's pre-annotations, correcting the speaker of the first), and writes the project's JSON export.

Usage: python label_studio_driver.py BASE_URL EMAIL PASSWORD CONFIG.xml TASKS.json EXPORT.json
"""

import json
import sys

import requests
from label_studio_sdk import LabelStudio

base, email, password, config_path, tasks_path, export_path = sys.argv[1:7]
session = requests.Session()
session.get(f"{base}/user/login/")
session.post(f"{base}/user/login/", data={"email": email, "password": password,
                                          "csrfmiddlewaretoken": session.cookies.get("csrftoken")},
             headers={"Referer": f"{base}/user/login/"})
token = session.post(f"{base}/api/token/", headers={"X-CSRFToken": session.cookies.get("csrftoken"), "Referer": base}).json()["token"]
client = LabelStudio(base_url=base, api_key=token)
project = client.projects.create(title="tradeclf suggestions", label_config=open(config_path, encoding="utf-8").read())
client.projects.import_tasks(id=project.id, request=json.load(open(tasks_path, encoding="utf-8")))
for k, task in enumerate(client.tasks.list(project=project.id)):
    predicted = task.predictions[0].result if task.predictions else []  # the pre-annotation the annotator starts from
    result = [dict(r) for r in predicted if not (k == 0 and r["from_name"] == "speaker")]
    if k == 0:
        result.append({"from_name": "speaker", "to_name": "sentence", "type": "choices", "value": {"choices": ["other"]}})
    client.annotations.create(id=task.id, result=result, was_cancelled=False)
export = b"".join(client.projects.exports.download_sync(project.id, export_type="JSON", download_all_tasks=True))
open(export_path, "wb").write(export)
print(len(json.loads(export)), "tasks exported")
