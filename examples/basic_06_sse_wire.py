"""What a job-API stream looks like on the wire: the raw Server-Sent Events, line by line."""

import httpx

GATEWAY = "http://localhost:8003"
HEADERS = {"Authorization": "Bearer sk-your-key"}


def main() -> None:
    with httpx.Client(base_url=GATEWAY, headers=HEADERS, timeout=60) as http:
        job_id = http.post("/api/jobs/create", json={"job_type": "wire_demo"}).json()["job_id"]
        request = {
            "messages": [{"role": "user", "content": "Say hello."}],
            "max_tokens": 5,
            "stream_options": {"include_usage": True},
        }
        with http.stream("POST", f"/api/jobs/{job_id}/llm-call-stream", json=request) as response:
            print("HTTP", response.status_code, response.headers["content-type"])
            print("cache-control:", response.headers["cache-control"])
            print()
            for line in response.iter_lines():
                print(line)
        http.post(f"/api/jobs/{job_id}/complete", json={"status": "completed"})


if __name__ == "__main__":
    main()
