//! A minimal synchronous rtnetlink client: one request, all its answers.
//!
//! The socket is opened per request, so it lives in the network namespace of
//! the calling thread at that moment (what [`crate::netns::enter`] relies on).

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use crate::Error;

/// Sends `msg` (a dump when `dump`) and collects every answer message.
pub(crate) fn request(
    what: &'static str,
    msg: RouteNetlinkMessage,
    dump: bool,
) -> Result<Vec<RouteNetlinkMessage>, Error> {
    let fail = |why: String| Error::Netlink { request: what, why };
    let mut socket = Socket::new(NETLINK_ROUTE).map_err(|e| fail(format!("socket: {e}")))?;
    socket.bind_auto().map_err(|e| fail(format!("bind: {e}")))?;
    socket
        .connect(&SocketAddr::new(0, 0))
        .map_err(|e| fail(format!("connect: {e}")))?;

    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | if dump { NLM_F_DUMP } else { NLM_F_ACK };
    header.sequence_number = 1;
    let mut req = NetlinkMessage::new(header, NetlinkPayload::from(msg));
    req.finalize();
    let mut buf = vec![0; req.header.length as usize];
    req.serialize(&mut buf);
    socket
        .send(&buf, 0)
        .map_err(|e| fail(format!("send: {e}")))?;

    let mut answers = Vec::new();
    loop {
        let (data, _) = socket
            .recv_from_full()
            .map_err(|e| fail(format!("recv: {e}")))?;
        if data.is_empty() {
            return Err(fail("kernel closed the socket".into()));
        }
        let mut offset = 0;
        while offset < data.len() {
            let msg: NetlinkMessage<RouteNetlinkMessage> =
                NetlinkMessage::deserialize(&data[offset..])
                    .map_err(|e| fail(format!("decode answer: {e}")))?;
            let len = msg.header.length as usize;
            match msg.payload {
                NetlinkPayload::Done(_) => return Ok(answers),
                NetlinkPayload::Error(err) => {
                    return match err.code {
                        None => Ok(answers),
                        Some(_) => Err(fail(err.to_io().to_string())),
                    };
                }
                NetlinkPayload::InnerMessage(m) => answers.push(m),
                _ => {}
            }
            if len == 0 {
                break;
            }
            offset += len;
        }
    }
}
