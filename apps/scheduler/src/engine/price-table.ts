/**
 * Monthly list prices (USD) by resource type, for the built-in cost estimator. The
 * table is data: a deployment may pass its own. Resource types absent from it count
 * as unmatched, as HCP reports resources it cannot price.
 */
export type PriceTable = Readonly<Record<string, number>>;

export const DEFAULT_PRICE_TABLE: PriceTable = {
  aws_instance: 8.47,
  aws_db_instance: 12.41,
  aws_nat_gateway: 32.85,
  aws_lb: 16.43,
  aws_alb: 16.43,
  aws_elb: 18.25,
  aws_ebs_volume: 8.0,
  aws_eip: 3.65,
  aws_elasticache_cluster: 12.41,
  aws_eks_cluster: 73.0,
  aws_s3_bucket: 0.0,
  google_compute_instance: 24.27,
  google_sql_database_instance: 9.37,
  google_container_cluster: 73.0,
  azurerm_linux_virtual_machine: 30.37,
  azurerm_windows_virtual_machine: 56.94,
  azurerm_kubernetes_cluster: 73.0,
};
