import { ArnFormat, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import { Construct } from "constructs";

export interface AlertsProps {
  /** Context `alertEmail`: subscribed to the topic (AWS asks the address to confirm). */
  email?: string;
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

const CLOUDWATCH = "cloudwatch.amazonaws.com";

/**
 * The stack's alert topic: SummariseSuite publishes a suite's regressions to it, and the stack's
 * CloudWatch alarms (infra/constructs/observability.ts) their state changes. Only TLS publishers are
 * accepted.
 *
 * Encrypted with a key of its own, not the AWS managed key `alias/aws/sns`: CloudWatch alarms cannot
 * publish to a topic encrypted with that key, whose key policy cannot be changed to let
 * cloudwatch.amazonaws.com use it. AWS's "Enable compatibility between event sources from AWS services
 * and encrypted topics" (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services)
 * asks for a customer managed key whose policy gives the service kms:GenerateDataKey* and kms:Decrypt.
 */
export class Alerts extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlertsProps = {}) {
    super(scope, id);
    this.key = new kms.Key(this, "Key", {
      description: `boot-bench ${Stack.of(this).stackName}: encrypts the alert topic's messages`,
      enableKeyRotation: true,
      // SNS keeps a message only until it is delivered, so nothing outlives the topic that this key
      // would still have to decrypt; a retained key would cost $1 a month for nothing.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    this.topic = new sns.Topic(this, "Topic", {
      displayName: "boot-bench alerts",
      masterKey: this.key,
      enforceSSL: true,
    });
    if (props.email !== undefined) {
      if (!EMAIL.test(props.email))
        throw new Error(`Context alertEmail: ${props.email} is not an email address`);
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    }
  }

  /**
   * Lets a principal publish: sns:Publish on the topic, and the key's data keys, which SNS asks KMS
   * for with the publisher's identity. Written out instead of `topic.grantPublish`, whose
   * kms:GenerateDataKey* is a wildcard action; SNS encrypts with GenerateDataKey, and the key may be
   * used only through SNS, as the AWS managed key's own policy allowed.
   */
  grantPublish(grantee: iam.IGrantable): void {
    const stack = Stack.of(this);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "PublishAlerts",
        actions: ["sns:Publish"],
        resources: [this.topic.topicArn],
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "EncryptAlerts",
        actions: ["kms:GenerateDataKey", "kms:Decrypt"],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { "kms:ViaService": `sns.${stack.region}.${stack.urlSuffix}` } },
      }),
    );
  }

  /**
   * Lets the CloudWatch alarms of this account and region whose names start with `alarmNamePrefix`
   * publish: in the topic policy (the one CDK writes for enforceSSL replaces SNS's default policy, so
   * the alarms need a statement of their own) and in the key policy. The conditions keep any other account's or any
   * other alarm's notifications out (confused deputy).
   */
  acceptAlarms(alarmNamePrefix: string): void {
    const stack = Stack.of(this);
    const conditions = {
      StringEquals: { "aws:SourceAccount": stack.account },
      ArnLike: {
        "aws:SourceArn": stack.formatArn({
          service: "cloudwatch",
          resource: "alarm",
          resourceName: `${alarmNamePrefix}*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };
    const cloudwatch = new iam.ServicePrincipal(CLOUDWATCH);
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "CloudWatchAlarmsPublish",
        principals: [cloudwatch],
        actions: ["sns:Publish"],
        resources: [this.topic.topicArn],
        conditions,
      }),
    );
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "CloudWatchAlarmsEncrypt",
        principals: [cloudwatch],
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"],
        conditions,
      }),
    );
  }
}
