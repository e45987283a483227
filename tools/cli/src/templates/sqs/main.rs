//! {{name}}: consumes batches of SQS messages. `handle` is called once per
//! message; a message it refuses (here: an empty body) goes back to the queue
//! through `batchItemFailures`, to be received again, and the rest of the
//! batch is deleted. (The event source mapping needs
//! `FunctionResponseTypes: [ReportBatchItemFailures]`, as `template.yaml`
//! sets.)
use tiny_lambda::Context;
use tiny_lambda::events::BatchResponse;
use tiny_lambda::events::sqs::{SqsEvent, SqsMessage};

/// The work for one message.
fn handle(message: &SqsMessage) -> Result<(), String> {
    if message.body.trim().is_empty() {
        return Err("the body is empty".to_owned());
    }
    log::info!(
        "message {} has {} bytes",
        message.message_id,
        message.body.len()
    );
    Ok(())
}

fn main() {
    tiny_lambda::run(|event: SqsEvent, _ctx: &Context| {
        let mut answer = BatchResponse::new();
        for message in &event.records {
            if let Err(why) = handle(message) {
                log::warn!(
                    "message {} goes back to the queue: {why}",
                    message.message_id
                );
                answer.fail(&message.message_id);
            }
        }
        Ok::<_, tiny_lambda::Diagnostic>(answer)
    })
}
