"""A loopback SMTP server that accepts every message and keeps none, for the benchmark: the
service's emails are delivered as in production, without failed deliveries and their retries
competing for the cores being measured. Prints its port, then serves until killed."""
import asyncio
import sys


async def session(reader, writer):
    writer.write(b"220 bench-sink ESMTP\r\n")
    in_data = False
    while line := await reader.readline():
        if in_data:
            if line in (b".\r\n", b".\n"):
                in_data = False
                writer.write(b"250 2.0.0 accepted\r\n")
        else:
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                writer.write(b"250-bench-sink\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                in_data = True
                writer.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 ok\r\n")
        await writer.drain()
    writer.close()


async def main():
    server = await asyncio.start_server(session, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
