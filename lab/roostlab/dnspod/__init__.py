"""A stand-in for Tencent Cloud's DNSPod API (version 2021-03-23), backed by the lab's Knot."""
