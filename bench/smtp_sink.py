"""A loopback SMTP server that accepts every message and keeps none, for the benchmark: the
service's emails are delivered as in production, without failed deliveries and their retries
competing for the cores being measured. Prints its port, then serves until killed.

A protocol rather than a stream reader: it shares the two cores being measured, and reading
line by line through asyncio's streams cost about 0.3 ms of CPU per email."""
import asyncio
import sys


class Session(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.pending = b""
        self.in_data = False
        transport.write(b"220 bench-sink ESMTP\r\n")

    def data_received(self, data):
        lines = (self.pending + data).split(b"\n")
        self.pending = lines.pop()
        replies = []
        for line in lines:
            if self.in_data:
                if line in (b".\r", b"."):
                    self.in_data = False
                    replies.append(b"250 2.0.0 accepted\r\n")
                continue
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                replies.append(b"250-bench-sink\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                self.in_data = True
                replies.append(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                replies.append(b"221 bye\r\n")
                self.transport.write(b"".join(replies))
                self.transport.close()
                return
            else:
                replies.append(b"250 ok\r\n")
        if replies:
            self.transport.write(b"".join(replies))


async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Session, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
