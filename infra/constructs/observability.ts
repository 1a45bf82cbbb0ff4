import { Duration, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import {
  bracketWidthMetric,
  INTERVAL_METRICS,
  METRICS_NAMESPACE,
  RUN_COUNT_METRICS,
  RUN_DIMENSIONS,
  SERVICE_DIMENSION,
  SERVICE_NAME,
  SUITE_METRICS,
  SWEEP_METRICS,
} from "../../functions/domain/boot-metrics.js";
import { BOUNDARIES, type IntervalName } from "../../functions/domain/integrity.js";
import type { Alerts } from "./alerts.js";

/** Benchmarks run weekly: a quarter of them at a glance. */
export const DASHBOARD_RANGE = Duration.days(84);
/** One point a day: a week's suite is a handful of points, twelve weeks a readable line. */
export const GRAPH_PERIOD = Duration.days(1);
/** Short, so that an alarm follows its cause within minutes. */
export const ALARM_PERIOD = Duration.minutes(5);

/** The interval graphed first: the headline number, as the CLI and the summaries give it. */
const HEADLINE_INTERVAL = "total" satisfies IntervalName;

/**
 * The dimension schema of a run's metrics, `{BootBench,InstanceType,Series,service}`: a SEARCH over it
 * finds every series and instance type that has reported, without the stack naming any of them.
 */
export const RUN_METRICS_SCHEMA = `{${[METRICS_NAMESPACE, ...[...RUN_DIMENSIONS, SERVICE_DIMENSION].sort()].join(",")}}`;

/** The SEARCH expression of one run metric, one line per series and instance type. */
export function runMetricSearch(metricName: string, statistic: string, period = GRAPH_PERIOD): string {
  return (
    `SEARCH('${RUN_METRICS_SCHEMA} ${SERVICE_DIMENSION}="${SERVICE_NAME}" MetricName="${metricName}"', ` +
    `'${statistic}', ${period.toSeconds()})`
  );
}

export interface ObservabilityProps {
  /** The benchmark state machine; suites run through it too, so their executions count here. */
  stateMachine: sfn.IStateMachine;
  /** Every Lambda function of the stack, by the label its lines get (the step's folder, "sweeper"). */
  functions: Readonly<Record<string, lambda.IFunction>>;
  /** The suite schedules' dead-letter queue: a message there is a week that was not benchmarked. */
  scheduleDeadLetterQueue: sqs.IQueue;
  /** Where the alarms go; it is told to accept them (topic and key policy). */
  alerts: Alerts;
}

export type AlarmName = "suiteRegression" | "instanceSwept" | "scheduleDeadLetters" | "executionFailed";

/**
 * The stack's CloudWatch dashboard and alarms. The numbers come from the EMF records the steps write
 * (functions/domain/boot-metrics.ts, whose names are the only ones used here) and from what Lambda,
 * Step Functions and SQS report themselves. Every alarm notifies the alert topic, and is named with
 * the stack's name first so that the topic and key policies can admit exactly these alarms.
 */
export class Observability extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: Record<AlarmName, cloudwatch.Alarm>;
  /** Every alarm's name starts with it (`<stack name>-`). */
  readonly alarmNamePrefix: string;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.alarmNamePrefix = `${stack.stackName}-`;
    this.alarms = this.createAlarms(props);
    props.alerts.acceptAlarms(this.alarmNamePrefix);
    const notify = new actions.SnsAction(props.alerts.topic);
    for (const alarm of Object.values(this.alarms)) alarm.addAlarmAction(notify);

    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      dashboardName: stack.stackName,
      defaultInterval: DASHBOARD_RANGE,
    });
    this.addWidgets(props);
  }

  private createAlarms(props: ObservabilityProps): Record<AlarmName, cloudwatch.Alarm> {
    const atLeastOne = {
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // Each metric reports only when something happened (a sweep, an alert, an execution ending), or
      // stops reporting when nothing does (an idle queue): no data is nothing wrong.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };
    const alarm = (id: string, name: string, metric: cloudwatch.IMetric, description: string) =>
      new cloudwatch.Alarm(this, id, {
        alarmName: `${this.alarmNamePrefix}${name}`,
        alarmDescription: description,
        metric,
        ...atLeastOne,
      });
    const sm = props.stateMachine;
    const executionMetric = { statistic: cloudwatch.Stats.SUM, period: ALARM_PERIOD };
    return {
      suiteRegression: alarm(
        "SuiteRegressionAlarm",
        "SuiteRegression",
        this.serviceMetric(SUITE_METRICS.regressions, cloudwatch.Stats.SUM, ALARM_PERIOD),
        "A suite found a regression (boot time, timeouts or failures) and sent its alert to this topic; " +
          "that message names the series, instance type and AMIs.",
      ),
      instanceSwept: alarm(
        "InstanceSweptAlarm",
        "InstanceSwept",
        // A sweep that could not terminate an instance counts too: it is the worse case of the same leak
        // (a dry run terminates nothing and fails nothing, so it never fires this).
        new cloudwatch.MathExpression({
          expression: "FILL(swept, 0) + FILL(failed, 0)",
          usingMetrics: {
            swept: this.serviceMetric(SWEEP_METRICS.instancesSwept, cloudwatch.Stats.SUM, ALARM_PERIOD),
            failed: this.serviceMetric(SWEEP_METRICS.sweepFailures, cloudwatch.Stats.SUM, ALARM_PERIOD),
          },
          label: "Instances swept or that the sweep could not terminate",
          period: ALARM_PERIOD,
        }),
        "The sweeper terminated an instance the pipeline should have terminated itself, or could not " +
          "terminate one (or delete one of the stack's key pairs); the sweep's record (pk = SWEEP#<date>) " +
          "names its benchmark and run.",
      ),
      scheduleDeadLetters: alarm(
        "ScheduleDeadLettersAlarm",
        "ScheduleDeadLetters",
        props.scheduleDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          statistic: cloudwatch.Stats.MAXIMUM,
          period: ALARM_PERIOD,
        }),
        "A suite schedule could not start the state machine after its retries: that week was not " +
          "benchmarked. The message in the dead-letter queue names the schedule and the error.",
      ),
      // Aborted executions are left out: an abort is a StopExecution, by hand or by a stopped or
      // failed parent suite, whose own failure is counted.
      executionFailed: alarm(
        "ExecutionFailedAlarm",
        "ExecutionFailed",
        new cloudwatch.MathExpression({
          expression: "FILL(failed, 0) + FILL(timedOut, 0)",
          usingMetrics: {
            failed: sm.metricFailed(executionMetric),
            timedOut: sm.metricTimedOut(executionMetric),
          },
          label: "Executions failed or timed out",
          period: ALARM_PERIOD,
        }),
        "A benchmark or suite execution failed or timed out (a failed run is recorded as such and does " +
          "not fail its execution); the execution's history says which state failed.",
      ),
    };
  }

  private addWidgets(props: ObservabilityProps): void {
    const d = this.dashboard;
    const stackName = Stack.of(this).stackName;
    d.addWidgets(
      new cloudwatch.TextWidget({
        width: 24,
        height: 2,
        markdown:
          `# boot-bench ${stackName}\n` +
          "Boot times are the p50 a day of each series (SSM parameter, or AMI given directly) on each " +
          "instance type: counted runs and trustworthy intervals only. Counts are sums a day.",
      }),
    );
    d.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: "Alarms (each notifies the alert topic)",
        alarms: Object.values(this.alarms),
        width: 24,
        height: 3,
      }),
    );

    const sum = (metricName: string) => ({ metricName, statistic: "Sum" });
    const graphs = [
      ...[HEADLINE_INTERVAL, ...INTERVAL_METRICS.filter((name) => name !== HEADLINE_INTERVAL)].map((name) =>
        this.searchGraph(`Boot time: ${name} (s, p50 a day)`, [{ metricName: name, statistic: "p50" }], "s"),
      ),
      this.searchGraph(
        "Bracket widths (ms, p99 a day)",
        BOUNDARIES.map((boundary) => ({ metricName: bracketWidthMetric(boundary), statistic: "p99" })),
        "ms",
      ),
    ];
    for (let i = 0; i < graphs.length; i += 2) d.addWidgets(...graphs.slice(i, i + 2));
    d.addWidgets(
      this.searchGraph(
        "Runs, failed and timed-out runs (a day)",
        [RUN_COUNT_METRICS.runs, RUN_COUNT_METRICS.failedRuns, RUN_COUNT_METRICS.timedOutRuns].map(sum),
        "runs",
        8,
      ),
      this.searchGraph(
        "Untrusted intervals of counted runs (a day)",
        [sum(RUN_COUNT_METRICS.untrustedIntervals)],
        "intervals",
        8,
      ),
      this.searchGraph(
        "EC2 throttling: DescribeInstances answered RequestLimitExceeded (a day)",
        [sum(RUN_COUNT_METRICS.throttledCalls)],
        "calls",
        8,
      ),
    );

    const daily = (metricName: string) => this.serviceMetric(metricName, cloudwatch.Stats.SUM, GRAPH_PERIOD);
    d.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Sweeper: instances past the bound, swept; key pairs deleted; failures (a day)",
        left: Object.values(SWEEP_METRICS).map(daily),
        leftYAxis: { min: 0, showUnits: false },
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "Regression alerts sent (a day)",
        left: [daily(SUITE_METRICS.regressions)],
        leftYAxis: { min: 0, showUnits: false },
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "Schedule dead-letter queue: messages (max a day)",
        left: [
          props.scheduleDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
            statistic: cloudwatch.Stats.MAXIMUM,
            period: GRAPH_PERIOD,
            label: "messages visible",
          }),
        ],
        leftYAxis: { min: 0, showUnits: false },
        width: 8,
      }),
    );

    const perFunction = (metric: (fn: lambda.IFunction) => cloudwatch.Metric) =>
      Object.entries(props.functions).map(([label, fn]) => metric(fn).with({ label }));
    const lambdaSum = { statistic: cloudwatch.Stats.SUM, period: GRAPH_PERIOD };
    d.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Lambda errors per function (a day)",
        left: perFunction((fn) => fn.metricErrors(lambdaSum)),
        leftYAxis: { min: 0, showUnits: false },
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Lambda throttles per function (a day)",
        left: perFunction((fn) => fn.metricThrottles(lambdaSum)),
        leftYAxis: { min: 0, showUnits: false },
        width: 12,
      }),
    );

    const sm = props.stateMachine;
    d.addWidgets(
      new cloudwatch.GraphWidget({
        title: "State machine executions: benchmarks and suites (a day)",
        left: [
          sm.metricSucceeded({ ...lambdaSum, label: "succeeded" }),
          sm.metricFailed({ ...lambdaSum, label: "failed" }),
          sm.metricTimedOut({ ...lambdaSum, label: "timed out" }),
          sm.metricAborted({ ...lambdaSum, label: "aborted" }),
        ],
        leftYAxis: { min: 0, showUnits: false },
        width: 24,
      }),
    );
  }

  /** A graph of run metrics, one line per series × instance type and metric, found by SEARCH. */
  private searchGraph(
    title: string,
    metrics: { metricName: string; statistic: string }[],
    unit: string,
    width = 12,
  ): cloudwatch.GraphWidget {
    const label = metrics.length > 1 ? `\${PROP('MetricName')} ` : "";
    return new cloudwatch.GraphWidget({
      title,
      left: metrics.map(
        ({ metricName, statistic }) =>
          new cloudwatch.MathExpression({
            expression: runMetricSearch(metricName, statistic),
            // Dynamic labels: CloudWatch fills them in per line found.
            label: `${label}\${PROP('Dim.Series')} \${PROP('Dim.InstanceType')}`,
            period: GRAPH_PERIOD,
          }),
      ),
      leftYAxis: { label: unit, min: 0, showUnits: false },
      width,
    });
  }

  private serviceMetric(metricName: string, statistic: string, period: Duration): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { [SERVICE_DIMENSION]: SERVICE_NAME },
      statistic,
      period,
    });
  }
}
