"""The latency probe lives in the library: `ghoststream.probe`, installed as `ghoststream-probe`.

    python -m benchmarks.probe --base-url https://api.openai.com/v1 --model gpt-4o-mini

keeps working for the benchmarks and anyone used to it.
"""

from ghoststream.probe import format_summary, main, probe, probe_url

__all__ = ["format_summary", "main", "probe", "probe_url"]

if __name__ == "__main__":
    main()
