"""The job API with a plain HTTP client: what the SDK sends, for any language.

Every request carries the virtual key as a Bearer token. A job is created,
used for one call, and completed; the completion charges its credit.
"""

import httpx

GATEWAY = "http://localhost:8003"
HEADERS = {"Authorization": "Bearer sk-your-key"}


def main() -> None:
    with httpx.Client(base_url=GATEWAY, headers=HEADERS, timeout=60) as http:
        created = http.post("/api/jobs/create", json={"job_type": "http_demo"})
        created.raise_for_status()
        job_id = created.json()["job_id"]
        print("POST /api/jobs/create ->", created.status_code)
        print("  status:", created.json()["status"])

        call = http.post(
            f"/api/jobs/{job_id}/llm-call",
            json={"messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 20},
        )
        call.raise_for_status()
        body = call.json()
        print("POST /api/jobs/{id}/llm-call ->", call.status_code)
        print("  response.content:", repr(body["response"]["content"]))
        print("  metadata.tokens_used:", body["metadata"]["tokens_used"])
        print("  choices[0].message.content:", repr(body["choices"][0]["message"]["content"]))

        done = http.post(f"/api/jobs/{job_id}/complete", json={"status": "completed"})
        done.raise_for_status()
        result = done.json()
        print("POST /api/jobs/{id}/complete ->", done.status_code)
        print("  credits_charged:", result["credits_charged"])
        print("  credits_remaining:", result["credits_remaining"])

        again = http.post(f"/api/jobs/{job_id}/complete", json={"status": "completed"})
        print("Completing it again ->", again.status_code, again.json())


if __name__ == "__main__":
    main()
