"""A failure after the first byte, as it looks on the wire: an error event and no [DONE].

Runs against the docs' faults gateway (port 8004): the "cut-mid-stream" group's
upstream sends five chunks and then drops the connection.
"""

import json

import httpx

GATEWAY = "http://localhost:8004"
HEADERS = {"Authorization": "Bearer sk-your-key"}


def main() -> None:
    with httpx.Client(base_url=GATEWAY, headers=HEADERS, timeout=60) as http:
        job_id = http.post("/api/jobs/create", json={"job_type": "wire_error"}).json()["job_id"]
        request = {
            "messages": [{"role": "user", "content": "Write a short poem about Python"}],
            "model_group": "cut-mid-stream",
        }
        with http.stream("POST", f"/api/jobs/{job_id}/llm-call-stream", json=request) as response:
            print("HTTP", response.status_code)
            for line in response.iter_lines():
                if line.startswith("data: {"):
                    event = json.loads(line.removeprefix("data: "))
                    if "choices" in event:  # shorten content chunks to their text
                        delta = event["choices"][0]["delta"] if event["choices"] else {}
                        line = f"data: {{... {json.dumps(delta)} ...}}"
                print(line)
        http.post(f"/api/jobs/{job_id}/complete", json={"status": "failed"})


if __name__ == "__main__":
    main()
