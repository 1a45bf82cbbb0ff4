import * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import { Construct } from "constructs";

export interface RegressionAlertsProps {
  /** Context `alertEmail`: subscribed to the topic (AWS asks the address to confirm). */
  email?: string;
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/**
 * The topic SummariseSuite publishes a regression to. Encrypted with the AWS managed key for SNS, which
 * costs nothing and needs no key policy for an in-account publisher; only TLS publishers are accepted.
 */
export class RegressionAlerts extends Construct {
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: RegressionAlertsProps = {}) {
    super(scope, id);
    this.topic = new sns.Topic(this, "Topic", {
      displayName: "boot-bench regressions",
      masterKey: kms.Alias.fromAliasName(this, "SnsManagedKey", "alias/aws/sns"),
      enforceSSL: true,
    });
    if (props.email !== undefined) {
      if (!EMAIL.test(props.email))
        throw new Error(`Context alertEmail: ${props.email} is not an email address`);
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    }
  }
}
