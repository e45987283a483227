//! Consumes an SQS batch and reports partial failures: every message whose
//! body contains `fail` is handed back to the queue through
//! `batchItemFailures`; the rest are deleted. (The event source mapping needs
//! `FunctionResponseTypes: [ReportBatchItemFailures]`.)
use tiny_lambda::Context;
use tiny_lambda::events::BatchResponse;
use tiny_lambda::events::sqs::SqsEvent;

fn main() {
    tiny_lambda::run(|event: SqsEvent, _ctx: &Context| {
        let mut answer = BatchResponse::new();
        for message in &event.records {
            if message.body.contains("fail") {
                log::warn!(
                    "message {} failed; it goes back to the queue",
                    message.message_id
                );
                answer.fail(&message.message_id);
            }
        }
        Ok::<_, tiny_lambda::Diagnostic>(answer)
    })
}
